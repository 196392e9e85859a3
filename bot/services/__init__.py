"""What runs outside a single update, or is shared by several features' handlers: delivery
(one send budget for every message), insights."""
