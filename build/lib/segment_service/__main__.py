"""`python -m segment_service` is the `segment-service` command."""

from segment_service.cli import main

main()
