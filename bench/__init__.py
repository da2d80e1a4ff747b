"""Benchmarks of segment-service: `python -m bench` (or `make bench`).

A run loads a realistic dataset into a private embedded PostgreSQL, starts the real service and a bare "floor"
server over the same database, drives both with `wrk` on 127.0.0.1, and reports req/s, p50 and p99 with each
scenario's ratio to the floor. See docs/performance.md.
"""
