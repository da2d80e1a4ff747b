"""What operators and their tools call: liveness, readiness and metrics (docs/operations.md)."""
