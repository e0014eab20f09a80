"""Bad configuration stops `make run` (run_stack) with one clear message, not a traceback."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run_stack(tmp_path, **env_overrides) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.django.base",
        # Point at the tests' own services so nothing touches the demo data.
        "EMBEDDED_SERVICES_DIR": str(settings.EMBEDDED_SERVICES_DIR),
        "EMBEDDED_REDIS_PORT": str(settings.EMBEDDED_REDIS_PORT),
        "DATABASE_URL": f"postgresql://postgres@/{settings.DATABASES['default']['NAME']}?host={settings.DATABASES['default']['HOST']}",
        "REDIS_URL": settings.REDIS_URL,
        **env_overrides,
    }
    return subprocess.run([sys.executable, "manage.py", "run_stack", "--no-seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _assert_one_clear_error(result, expected: str):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


def test_unreachable_database_url(tmp_path):
    result = _run_stack(tmp_path, DATABASE_URL="postgresql://shop:pw@127.0.0.1:1/shop")
    _assert_one_clear_error(result, "Cannot connect to the database at 127.0.0.1:1/shop (DATABASE_URL)")


def test_unreachable_redis_url(tmp_path):
    result = _run_stack(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    _assert_one_clear_error(result, "Cannot connect to Redis at redis://127.0.0.1:1/0 (REDIS_URL)")


def test_web_port_already_taken(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = _run_stack(tmp_path, PORT=str(port))
    _assert_one_clear_error(result, f"Port {port} on 127.0.0.1 is already in use")


def test_missing_model_file(tmp_path):
    result = _run_stack(tmp_path, LLM_MODEL_DIR=str(tmp_path / "empty"))
    _assert_one_clear_error(result, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf is missing: run `make install`")


def test_unknown_model_setting(tmp_path):
    result = _run_stack(tmp_path, LLM_MODEL=str(tmp_path / "nope.gguf"))
    _assert_one_clear_error(result, "is neither a known model")


def test_model_file_with_a_wrong_checksum(tmp_path):
    from llm.model_files import GENERATIVE_MODELS

    spec = GENERATIVE_MODELS["qwen2.5-coder-1.5b"]
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    with (model_dir / spec.filename).open("wb") as handle:  # right size, wrong bytes (sparse)
        handle.truncate(spec.size)
    result = _run_stack(tmp_path, LLM_MODEL_DIR=str(model_dir))
    _assert_one_clear_error(result, "fails its checksum")


def test_production_without_secret_key(tmp_path):
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "", "DJANGO_SETTINGS_MODULE": "config.django.base"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    _assert_one_clear_error(result, "SECRET_KEY must be set when APP_ENV=production")


@pytest.mark.parametrize(("env", "expected"), [
    ({"LLM_BACKEND": "gpu"}, "LLM_BACKEND must be 'local' or 'openai' (got 'gpu')"),
    ({"LLM_BACKEND": "openai", "LLM_BASE_URL": ""}, "LLM_BACKEND=openai needs LLM_BASE_URL"),
    ({"LLM_BACKEND": "openai", "LLM_BASE_URL": "llama-server:8080"}, "LLM_BACKEND=openai needs LLM_BASE_URL"),
    ({"LLM_MAX_CONCURRENCY": "0"}, "LLM_MAX_CONCURRENCY must be at least 1"),
])
def test_bad_inference_server_settings(env, expected):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.django.base", **env}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    _assert_one_clear_error(result, expected)
