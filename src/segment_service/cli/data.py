"""Data in and out: `segment-service dump FILE`, `restore FILE` and `import KIND FILE --tenant T`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncpg
import click

from segment_service.cli.startup import ensure_schema
from segment_service.core.errors import ServiceError
from segment_service.embedded import release_embedded
from segment_service.transfer import backup, importer, kinds, readers

DATA_DIR_HELP = "Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]"
#: Errors printed in the plain summary; --json lists them all.
SHOWN_ERRORS = 50


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", default=None, help=DATA_DIR_HELP)
def dump(file: Path, data_dir: str | None) -> None:
    """Write the whole database to FILE (pg_dump's custom format), while the service runs or not."""
    from segment_service.cli import _database, _settings

    server, dsn = _database(_settings(data_dir))
    try:
        backup.dump(dsn, file, embedded=server is not None)
    except (backup.BackupError, OSError, asyncpg.PostgresError) as exc:
        _fail(str(exc))
    finally:
        if server is not None:
            release_embedded(server)
    click.echo(f"Dumped the database to {file} ({file.stat().st_size:,} bytes).")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--clean", "--force", "clean", is_flag=True, help="Drop everything in the database first (else it must be empty)."
)
@click.option("--data-dir", default=None, help=DATA_DIR_HELP)
def restore(file: Path, clean: bool, data_dir: str | None) -> None:
    """Restore a dump written by `segment-service dump` into an empty database, all of it or nothing."""
    from segment_service.cli import _database, _settings

    server, dsn = _database(_settings(data_dir))
    try:
        backup.restore(dsn, file, embedded=server is not None, clean=clean)
    except (backup.BackupError, OSError, asyncpg.PostgresError) as exc:
        _fail(str(exc))
    finally:
        if server is not None:
            release_embedded(server)
    click.echo(f"Restored {file}; `segment-service serve` applies any newer migrations on start.")


@click.command(name="import")
@click.argument("kind", type=click.Choice(kinds.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True, help="The tenant the rows belong to.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--data-dir", default=None, help=DATA_DIR_HELP)
def import_command(kind: str, file: Path, tenant: str, as_json: bool, data_dir: str | None) -> None:
    """Import FILE (.ndjson: one API request body per line; .csv: a header row of field names) as KIND rows.

    Exit code 0 when every row was imported, 1 when any row failed (the others are imported), 2 when the file or
    the arguments cannot be used at all."""
    from segment_service.cli import _database, _settings

    if file.suffix.lower() not in readers.FORMATS:
        _fail(f"{file.name}: unknown file type; use a .ndjson or a .csv file", 2)
    settings = _settings(data_dir)
    server, dsn = _database(settings)
    bar = (
        click.progressbar(length=file.stat().st_size, label=f"Importing {kind}", file=sys.stderr)
        if sys.stderr.isatty()
        else None
    )
    done = 0

    def progress(read_bytes: int) -> None:
        nonlocal done
        if bar is not None:
            bar.update(read_bytes - done)
        done = read_bytes

    try:
        ensure_schema(settings, dsn, embedded=server is not None)
        summary = asyncio.run(importer.import_file(settings, dsn, kind, file, tenant, progress))
    except readers.FileFormatError as exc:
        _fail(f"{exc} (rows before it may have been imported)" if done else str(exc), 2)
        return
    except ServiceError as exc:
        _fail(exc.message, 2)
        return
    except (OSError, asyncpg.PostgresError) as exc:
        _fail(str(exc))
        return
    finally:
        if bar is not None:
            bar.render_finish()
        if server is not None:
            release_embedded(server)
    if as_json:
        click.echo(json.dumps(summary.as_json()))
    else:
        _print_summary(summary)
    sys.exit(1 if summary.failed else 0)


def _print_summary(summary: importer.Summary) -> None:
    click.echo(
        f"{summary.rows:,} row(s) of {summary.kind} for tenant {summary.tenant}: {summary.created:,} created, "
        f"{summary.updated:,} replaced, {summary.failed:,} failed ({summary.seconds:.1f} s, "
        f"{summary.rows_per_second:,.0f} rows/s)."
    )
    for error in summary.errors[:SHOWN_ERRORS]:
        click.echo(f"{summary.file}:{error.line}: {error.status} {error.message}", err=True)
    if summary.failed > SHOWN_ERRORS:
        click.echo(f"… and {summary.failed - SHOWN_ERRORS:,} more (--json lists them all).", err=True)


COMMANDS = (dump, restore, import_command)
