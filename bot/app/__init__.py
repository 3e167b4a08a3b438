"""The process put together: :mod:`.runtime` builds the running parts from settings (content,
database, senders, inbox, Telegram), for the web app (``bot.routes.app``) and the CLI alike.
"""
