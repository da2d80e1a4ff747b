"""The Dockerfile and compose.yaml agree with the project: the command, port, health path, data folder and settings
they use exist, and the service's DATABASE_URL names the compose PostgreSQL. (No image is built here.)"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _one(keyword: str) -> str:
    values = [rest for key, rest in _instructions() if key == keyword]
    assert len(values) == 1, (keyword, values)
    return values[0]


def _env() -> dict[str, str]:
    """Every ENV of the Dockerfile (the `KEY=value` form)."""
    env: dict[str, str] = {}
    for key, rest in _instructions():
        if key == "ENV":
            for part in shlex.split(rest):
                name, value = part.split("=", 1)
                env[name] = value
    return env


def _serve_default(name: str) -> Any:
    serve = main.commands["serve"]
    return next(p.default for p in serve.params if p.name == name)


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return compose


def _defaults(value: str) -> str:
    """A compose value with each `${NAME:-default}` replaced by its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _health_url(command: list[str]) -> str:
    match = re.search(r"urlopen\('([^']+)'", " ".join(command))
    assert match, command
    return match.group(1)


def _documented_settings() -> set[str]:
    return set(re.findall(r"`(SEGMENT_SERVICE_[A-Z_]+|DATABASE_URL)`", (ROOT / "README.md").read_text("utf-8")))


class TestDockerfile:
    def test_base_image_and_a_production_install(self) -> None:
        assert _one("FROM") == "python:3.11-slim"
        [install] = [rest for key, rest in _instructions() if key == "RUN" and "pip install" in rest]
        assert re.search(r"pip install (--\S+ )*\.( |$)", install), install  # the package alone, no [dev] extras

    def test_installs_the_locked_runtime_versions(self) -> None:
        [install] = [rest for key, rest in _instructions() if key == "RUN" and "pip install" in rest]
        assert "--constraint=requirements.lock " in install, install

    def test_copies_what_the_package_build_needs(self) -> None:
        copied = [name for key, rest in _instructions() if key == "COPY" for name in rest.split()[:-1]]
        assert sorted(copied) == ["LICENSE", "README.md", "pyproject.toml", "requirements.lock", "src"]
        ignored = {
            line.strip()
            for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        }
        assert not set(copied) & ignored
        assert all((ROOT / name).exists() for name in copied)

    def test_runs_the_project_command_as_a_non_root_user(self) -> None:
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
        assert json.loads(_one("CMD")) == ["segment-service", "serve", "--host", "0.0.0.0"]
        assert "segment-service" in scripts
        user = _one("USER")
        assert user not in ("root", "0")
        assert re.search(rf"useradd .*\b{user}\b", " ".join(r for k, r in _instructions() if k == "RUN"))

    def test_exposes_the_port_serve_listens_on(self) -> None:
        assert int(_one("EXPOSE")) == _serve_default("port")

    def test_the_data_folder_is_the_volume(self) -> None:
        assert json.loads(_one("VOLUME")) == [_env()["SEGMENT_SERVICE_DATA_DIR"]]
        assert "SEGMENT_SERVICE_DATA_DIR" in _documented_settings()

    def test_healthcheck_probes_the_exposed_port(self) -> None:
        command = json.loads(_one("HEALTHCHECK").split(" CMD ", 1)[1])
        url = urlsplit(_health_url(command))
        assert (url.hostname, url.port) == ("127.0.0.1", int(_one("EXPOSE")))
        compile(command[-1], "healthcheck", "exec")  # the python -c program is valid Python


def test_the_health_path_is_served(client: TestClient[Litestar]) -> None:
    dockerfile_path = urlsplit(_health_url(json.loads(_one("HEALTHCHECK").split(" CMD ", 1)[1]))).path
    compose_path = urlsplit(_health_url(_compose()["services"]["segment-service"]["healthcheck"]["test"])).path
    assert dockerfile_path == compose_path
    response = client.get(dockerfile_path)
    assert response.status_code == 200, response.text


class TestCompose:
    def test_the_database_url_names_the_postgres_service(self) -> None:
        services = _compose()["services"]
        postgres = {k: _defaults(v) for k, v in services["postgres"]["environment"].items()}
        url = urlsplit(_defaults(services["segment-service"]["environment"]["DATABASE_URL"]))
        assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
        assert (url.username, url.password, url.path.lstrip("/")) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        # The password is the same variable on both sides, so setting it changes both.
        assert "${POSTGRES_PASSWORD:-" in services["segment-service"]["environment"]["DATABASE_URL"]

    def test_postgres_is_supported_healthy_first_and_kept_in_a_volume(self) -> None:
        compose = _compose()
        postgres, service = compose["services"]["postgres"], compose["services"]["segment-service"]
        major = int(re.fullmatch(r"postgres:(\d+)(\.\d+)?(-\w+)?", postgres["image"]).group(1))  # type: ignore[union-attr]
        assert major >= 14  # README: PostgreSQL >= 14
        assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
        assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        [volume] = postgres["volumes"]
        assert volume.split(":")[0] in compose["volumes"]
        assert volume.split(":")[1] == "/var/lib/postgresql/data"

    def test_the_service_is_built_here_and_published_on_its_port(self) -> None:
        service = _compose()["services"]["segment-service"]
        assert service["build"] == "."
        [published] = service["ports"]
        assert int(published.rsplit(":", 1)[1]) == int(_one("EXPOSE"))

    @pytest.mark.parametrize("source", ["Dockerfile", "compose.yaml"])
    def test_every_setting_used_is_documented(self, source: str) -> None:
        used = set(re.findall(r"\b(SEGMENT_SERVICE_[A-Z_]+|DATABASE_URL)\b", (ROOT / source).read_text("utf-8")))
        assert used
        assert used <= _documented_settings()
