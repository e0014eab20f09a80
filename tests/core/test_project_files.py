"""Files that ship with the project: pins, compose file, OpenAPI schema."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

ROOT = Path(__file__).resolve().parents[2]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_direct_dependency_is_pinned_to_the_locked_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            locked[_normalize(name)] = version.strip()
    direct = project["dependencies"] + project["optional-dependencies"]["test"]
    for requirement in direct:
        name, version = requirement.split("==", 1)
        name = _normalize(name.split("[")[0])
        version = version.split()[0].strip('",')
        if name == "llama-cpp-python":
            continue  # built from source by the Makefile, not from the lock
        assert locked.get(name) == version, f"{name}: pyproject {version}, lock {locked.get(name)}"


NEEDS_COMPOSE = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                   reason="Debian package docker-compose not installed (make system-deps)")
CPU_SERVER_ENV = {"LLM_BACKEND": "openai", "LLM_BASE_URL": "http://llama-server:8080/v1", "LLM_MAX_CONCURRENCY": "4"}


def _compose(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", "POSTGRES_PASSWORD": "x", "APP_DB_PASSWORD": "y", **(env or {})})


@NEEDS_COMPOSE
@pytest.mark.parametrize("profile", [[], ["--profile", "cpu-server"], ["--profile", "gpu"]], ids=["default", "cpu-server", "gpu"])
def test_docker_compose_file_is_valid(profile):
    result = _compose(*profile, "config", "-q")
    assert result.returncode == 0, result.stderr


@NEEDS_COMPOSE
def test_the_cpu_server_profile_serves_the_packaged_gguf_and_the_llm_workers_use_it():
    import yaml

    services = yaml.safe_load(_compose("--profile", "cpu-server", "config", env=CPU_SERVER_ENV).stdout)["services"]

    server, worker = services["llama-server"], services["worker-llm"]
    assert server["profiles"] == ["cpu-server"] and "llama.cpp" in server["image"]
    assert server["command"][server["command"].index("--parallel") + 1] == "4"
    assert server["command"][server["command"].index("--model") + 1] == "/gguf/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert "gguf:/gguf:ro" in server["volumes"]
    assert worker["environment"]["LLM_BACKEND"] == "openai" and worker["environment"]["LLM_BASE_URL"] == "http://llama-server:8080/v1"
    assert worker["command"][worker["command"].index("-c") + 1] == "4"
    assert services["vllm"]["profiles"] == ["gpu"] and services["vllm"]["runtime"] == "nvidia"


@NEEDS_COMPOSE
def test_by_default_the_llm_worker_runs_the_model_itself_one_at_a_time():
    import yaml

    worker = yaml.safe_load(_compose("config").stdout)["services"]["worker-llm"]

    assert worker["environment"]["LLM_BACKEND"] == "local"
    assert worker["command"][worker["command"].index("-c") + 1] == "1"


def test_openapi_schema_is_valid():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content  # served from the sidecar package, no CDN
