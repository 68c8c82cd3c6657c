"""Widgets that render state; none of them fetch anything."""
