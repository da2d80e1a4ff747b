"""Versions of what the storefront's cached answers are made of (docs/answers.md)."""
