"""One adapter per provider behind one small interface (see ``base``)."""
