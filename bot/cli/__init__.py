"""The `outreach` command (Typer): a module per command group."""
