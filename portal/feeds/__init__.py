"""Atom and RSS feeds of the "You said, we did" board."""
