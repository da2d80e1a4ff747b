"""Customer Segment Service: `/customer-segment/{tenant}/segments…`."""
