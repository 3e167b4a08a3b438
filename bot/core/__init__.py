"""Pure conversation logic: no I/O, no clock, no provider libraries.

Callers pass plain data (and ``now`` where time matters) and get decisions back.
"""
