"""The lock files pin what pyproject.toml asks for: every dependency at a version its range allows, the dev lock on
the runtime lock's versions. A range changed without `make lock` fails here."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            package, _, version = line.partition("==")
            assert version, f"{name}: {line!r} is not pinned"
            pins[canonicalize_name(package)] = version
    return pins


def _unmet(requirements: list[str], pins: dict[str, str]) -> list[str]:
    unmet = []
    for text in requirements:
        requirement = Requirement(text)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            unmet.append(f"{text} (locked: {pinned})")
    return unmet


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_runtime_lock_pins_every_dependency_within_its_range() -> None:
    assert _unmet(PROJECT["dependencies"], _pins("requirements.lock")) == []


def test_the_dev_lock_pins_every_dev_dependency_within_its_range() -> None:
    dev = _pins("requirements-dev.lock")
    assert _unmet(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"], dev) == []


def test_the_dev_lock_has_the_runtime_versions() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
