"""The language switcher."""
