"""What runs outside a single update: delivery (one send budget for every message)."""
