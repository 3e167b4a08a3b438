"""Web routes, one module per provider: parse, verify, hand off to the inbox, answer."""
