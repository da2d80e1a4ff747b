"""Rule-based segments (docs/rules.md)."""
