"""segment-service: an Emporix-API-compatible customer segmentation and targeting service."""

#: The one place the version is written: packaging (pyproject.toml reads it), `--version`, the OpenAPI document and
#: CHANGELOG.md's latest release follow it.
__version__ = "0.1.0"
