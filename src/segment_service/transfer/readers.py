"""Import files as rows: NDJSON (one JSON request body per line) or CSV (a header row of the API's field names,
dotted for nested fields). Each row comes with the line it starts on; a row that cannot be read is an error of
that line alone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from segment_service.core.errors import BadRequest, ServiceError

FORMATS = (".ndjson", ".csv")
#: The longest CSV cell read: the API's largest request body (10 MB).
MAX_CELL_CHARS = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the file: its first line (1-based), its body (or the error reading it), and how many bytes of the
    file have been read up to its end (for progress)."""

    line: int
    body: Any
    error: ServiceError | None
    read_bytes: int
    #: The row's JSON text (NDJSON), for kinds that decode it straight into their model.
    text: bytes | None = None


#: The API's answer to a body nested deeper than the JSON decoder goes (core/http.py).
_TOO_DEEP = BadRequest("The request body nests too deeply.", type="invalid_body")


class FileFormatError(Exception):
    """The file as a whole cannot be read (its name, its header): nothing of it is imported."""


def lenient(path: Path) -> bool:
    """Whether the file's values are text that the API's field types read (CSV), rather than typed JSON (NDJSON)."""
    return path.suffix.lower() == ".csv"


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of an `.ndjson` or `.csv` file."""
    suffix = path.suffix.lower()
    if suffix == ".ndjson":
        return _ndjson_rows(path)
    if suffix == ".csv":
        return _csv_rows(path)
    raise FileFormatError(f"{path.name}: unknown file type; use a .ndjson or a .csv file")


#: The UTF-8 byte-order mark.
_BOM = b"\xef\xbb\xbf"


def _ndjson_rows(path: Path) -> Iterator[Row]:
    decoder = msgspec.json.Decoder()
    read = 0
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            read += len(line)
            if number == 1:
                line = line.removeprefix(_BOM)  # as the CSV reader does: editors on Windows write one
            if not line.strip():
                continue  # blank lines (a trailing newline) are no rows
            try:
                yield Row(number, decoder.decode(line), None, read, line)
            except msgspec.DecodeError as exc:
                # The API's answer to a body that is not JSON.
                yield Row(
                    number, None, BadRequest(f"The request body is not valid JSON: {exc}", type="invalid_body"), read
                )
            except RecursionError:
                yield Row(number, None, _TOO_DEEP, read)


class _CountingLines:
    """Text lines of a binary file, counting the bytes handed out (csv.reader reads through this)."""

    def __init__(self, file: io.BufferedReader) -> None:
        self._file = file
        self.read_bytes = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self._file:
            self.read_bytes += len(raw)
            yield raw.decode("utf-8-sig" if self.read_bytes == len(raw) else "utf-8")


def _csv_rows(path: Path) -> Iterator[Row]:
    # A cell may hold as much as a request body can (the csv module's default stops at 128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    with path.open("rb") as file:
        lines = _CountingLines(file)
        reader = csv.reader(iter(lines), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileFormatError(f"{path.name}, line 1: the header row cannot be read: {exc}") from exc
        paths = _header_paths(path.name, header)
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise FileFormatError(f"{path.name}, line {start}: the file cannot be read on: {exc}") from exc
            if cells:  # a blank line is no row
                yield _csv_row(start, paths, cells, lines.read_bytes)
            start = reader.line_num + 1


def _header_paths(name: str, header: list[str]) -> list[tuple[str, ...]]:
    paths = [tuple(column.strip().split(".")) for column in header]
    for index, path in enumerate(paths):
        if not all(path):
            raise FileFormatError(f"{name}, line 1: column {index + 1} ('{header[index]}') is not a field name")
        for other in paths[:index]:
            if path == other or path[: len(other)] == other or other[: len(path)] == path:
                raise FileFormatError(
                    f"{name}, line 1: the columns '{'.'.join(other)}' and '{'.'.join(path)}' name the same field twice"
                )
    return paths


def _csv_row(line: int, paths: list[tuple[str, ...]], cells: list[str], read_bytes: int) -> Row:
    if len(cells) != len(paths):
        error = BadRequest(
            f"The row has {len(cells)} cells; the header names {len(paths)} columns.", type="invalid_body"
        )
        return Row(line, None, error, read_bytes)
    body: dict[str, Any] = {}
    for path, cell in zip(paths, cells, strict=True):
        if cell == "":
            continue  # an empty cell leaves the field out
        value: Any = cell
        if cell[:1] in ("[", "{"):
            try:
                value = msgspec.json.decode(cell)
            except msgspec.DecodeError as exc:
                error = BadRequest(f"The column '{'.'.join(path)}' holds no valid JSON: {exc}", type="invalid_body")
                return Row(line, None, error, read_bytes)
            except RecursionError:
                return Row(line, None, _TOO_DEEP, read_bytes)
        target = body
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return Row(line, body, None, read_bytes)
