"""Content: load and validate `content/*.yaml` into the frozen Catalog of `bot.core`."""
