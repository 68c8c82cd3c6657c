"""The Textual user interface: it only renders the hub's state and sends commands."""
