"""Sales orders (an Emporix Order Service subset) and the purchase facts kept from them (docs/orders.md)."""
