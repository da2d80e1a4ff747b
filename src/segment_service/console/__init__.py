"""The admin console: a single page at /admin that uses only the public API (docs/console.md)."""
