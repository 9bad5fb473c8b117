"""The production-shape deployment files (DESIGN.md §7): docker-compose.yml against the Compose Specification's
JSON schema, the structure a reviewer relies on, and the Dockerfile's command. No Docker engine needed."""

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from core.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_SCHEMA = ROOT.parent / "shared/schemas/compose-spec.json"

APP_SERVICES = ("migrate", "api", "worker")
ONE_SHOT_SERVICES = ("migrate", "temporal-admin-tools")
LONG_RUNNING_SERVICES = ("postgres", "temporal", "temporal-ui", "minio", "api", "worker")
SERVICES = {*ONE_SHOT_SERVICES, *LONG_RUNNING_SERVICES}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command")
    assert command, "the service has no command"
    return command if isinstance(command, str) else " ".join(str(part) for part in command)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on")
    assert isinstance(deps, dict), "depends_on must be the long form, with a condition per dependency"
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_compose_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.fail(f"the Compose Specification schema is missing: expected it at {COMPOSE_SCHEMA}")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.validate(compose, schema)


def test_every_service_exists(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_app_services_share_one_image_and_build_context(services: dict[str, dict[str, Any]]) -> None:
    builds = {name: json.dumps(services[name].get("build"), sort_keys=True) for name in APP_SERVICES}
    images = {name: services[name].get("image") for name in APP_SERVICES}
    assert services["api"].get("build"), "the app image is built from this repository"
    assert len(set(builds.values())) == 1, builds
    assert len(set(images.values())) == 1, images
    build = services["api"]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (COMPOSE_FILE.parent / context).resolve() == ROOT
    if isinstance(build, dict) and "dockerfile" in build:
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE


def test_app_services_environment(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])
        assert env["DATABASE_URL"] == "postgresql+psycopg://mfg:mfg@postgres:5432/mfg", name
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert env["ENVIRONMENT"] == "production", name
        assert env["TASK_QUEUE"] == "mfg-ops", name
        # Required from the host: compose refuses to start without them, production refuses the dev secret.
        assert re.fullmatch(r"\$\{JWT_SECRET:\?.+\}", env["JWT_SECRET"]), name
        assert re.fullmatch(r"\$\{ADMIN_PASSWORD:\?.+\}", env["ADMIN_PASSWORD"]), name


def test_postgres_hosts_the_app_database(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    env = environment(postgres)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == ("mfg", "mfg", "mfg")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(str(volume).endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])


def test_temporal_runs_on_that_postgres(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert env["POSTGRES_USER"] == environment(services["postgres"])["POSTGRES_USER"]
    assert services["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")
    ui = services["temporal-ui"]
    assert ui["image"].startswith("temporalio/ui:")
    assert environment(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "8233:8080" in [str(port) for port in ui["ports"]]


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING_SERVICES:
        check = services[name].get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_one_shot_services_are_not_restarted_forever(services: dict[str, dict[str, Any]]) -> None:
    for name in ONE_SHOT_SERVICES:
        restart = services[name].get("restart", "no")
        assert restart == "no" or restart.startswith("on-failure"), f"{name}: restart {restart}"


def test_python_healthchecks_compile(services: dict[str, dict[str, Any]]) -> None:
    for name in ("api", "worker"):
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], f"<{name} healthcheck>", "exec")
    assert "/health" in services["api"]["healthcheck"]["test"][3]


def test_startup_order(services: dict[str, dict[str, Any]]) -> None:
    assert depends_on(services["temporal"]) == {"postgres": "service_healthy"}
    assert depends_on(services["temporal-admin-tools"]) == {"temporal": "service_healthy"}
    assert depends_on(services["temporal-ui"]) == {"temporal": "service_healthy"}
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    for name in ("api", "worker"):
        assert depends_on(services[name]) == {
            "migrate": "service_completed_successfully",
            "temporal-admin-tools": "service_completed_successfully",
            "minio": "service_healthy",
        }, name


def test_commands(services: dict[str, dict[str, Any]]) -> None:
    assert shlex.split(command_text(services["migrate"])) == ["python", "-m", "scripts.migrate"]
    assert shlex.split(command_text(services["worker"])) == ["python", "worker.py"]
    api = command_text(services["api"])
    assert "api.app:create_app --factory" in api and "--port 8000" in api
    assert "8000:8000" in [str(port) for port in services["api"]["ports"]]


def test_admin_tools_register_exactly_the_search_attributes(services: dict[str, dict[str, Any]]) -> None:
    script = command_text(services["temporal-admin-tools"])
    created = re.findall(
        r"temporal operator search-attribute create --namespace default --name (\w+) --type (\w+)", script)
    expected = [(key.name, "Double" if key.indexed_value_type.name.endswith("DOUBLE") else "Keyword")
                for key in ALL_KEYS]
    assert len(created) == len(set(created)), f"registered twice: {created}"
    assert sorted(created) == sorted(expected)
    assert "already exist" in script, "re-running the one-shot must tolerate attributes that already exist"


def test_dockerfile_runs_the_api_factory_as_non_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    assert lines[next(i for i, line in enumerate(lines) if line.startswith("FROM"))].startswith(
        "FROM python:3.11-slim")
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert len(cmd) == 1, "one CMD"
    argv = json.loads(cmd[0].removeprefix("CMD "))
    assert argv[:3] == ["uvicorn", "api.app:create_app", "--factory"]
    assert " ".join(argv[3:]) == "--host 0.0.0.0 --port 8000"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image runs as a non-root user"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".data", ".git"} <= ignored
