"""The version is written once, in segment_service.__version__; packaging, --version, the OpenAPI document and the
changelog's latest release follow it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from segment_service import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "segment_service.__version__"}


def test_the_installed_package_has_the_version() -> None:
    assert version("segment-service") == __version__


def test_the_openapi_document_has_the_version(client: TestClient[Litestar]) -> None:
    assert client.get("/openapi.json").json()["info"]["version"] == __version__


def test_the_changelogs_latest_release_is_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")

    releases = re.findall(r"^## \[(\d[^\]]*)\]", changelog, flags=re.MULTILINE)
    assert releases[0] == __version__


def test_no_other_file_of_the_package_writes_the_version() -> None:
    package = ROOT / "src" / "segment_service"
    literal = re.compile(rf"""["']{re.escape(__version__)}["']""")

    writers = [path.relative_to(ROOT).as_posix() for path in package.rglob("*.py") if literal.search(path.read_text())]
    assert writers == ["src/segment_service/__init__.py"]
