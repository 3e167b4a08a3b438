"""The process put together: :mod:`.runtime` builds the running parts from settings (for the
web app and the CLI alike), :mod:`.web` is the ASGI app around them (routes, console, health,
lifespan). Each module is a layer of its own (``tests/test_layers.py``): the routes sit
between them, above ``runtime`` and below ``web``.
"""
