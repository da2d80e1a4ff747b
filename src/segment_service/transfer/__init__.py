"""Data in and out: `segment-service dump`/`restore` (pg_dump/pg_restore in custom format) and
`segment-service import` (NDJSON or CSV rows, each one API request body)."""
