"""The Telegram bot: residents' menus (`residents`), coordinators' commands (`coordinators`)."""
