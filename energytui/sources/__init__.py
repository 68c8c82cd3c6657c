"""Sources produce samples; the hub polls them. One module per device kind."""
