"""segment-service: an Emporix-API-compatible customer segmentation and targeting service."""

__version__ = "0.1.0"
