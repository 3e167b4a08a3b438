"""The store: one road to the database.

:class:`~bot.store.units.Units` runs a unit of work (a function of a ``Connection``) in one
transaction, on SQLite (one writer thread, group commit) and PostgreSQL alike. The queries
are synchronous Core functions in a module per thing kept: :mod:`.contacts`,
:mod:`.subscribers`, :mod:`.messages`, :mod:`.announcements`, :mod:`.schedules`,
:mod:`.broadcasts`, :mod:`.deliveries`, :mod:`.reports` (providers' delivery reports) and
:mod:`.roster` (CSV import and export), on the tables of :mod:`.tables`; :mod:`.locks` holds
the one-worker lock on a connection of its own. The hot paths'
statements are compiled once (:mod:`.prepared`). :mod:`.models` declares the schema,
:mod:`.engine` sets up the engines, :mod:`.migrate` runs Alembic.

Nothing in here commits on its own (the runner does), and nothing reads the clock.
"""
