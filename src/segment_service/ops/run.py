"""What `serve` prepares before its server starts: the log format for every line, and the metrics folder its
server processes share."""

from __future__ import annotations

import atexit
import logging

from segment_service.core.logs import configure_logging
from segment_service.core.metrics import multiprocess_dir, prepare_run_dir
from segment_service.settings import Settings

log = logging.getLogger(__name__)


def prepare_server_run(settings: Settings) -> None:
    """Configure logging and give this run's server processes one metrics folder (removed when the run ends)."""
    configure_logging(settings.log_level, settings.log_format)
    atexit.register(prepare_run_dir())
    log.info("metrics of this run's server processes are kept in %s", multiprocess_dir())
