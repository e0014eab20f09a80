import hashlib

import pytest

from llm import model_files
from llm.model_files import ChunkedGguf, ModelFileError


@pytest.fixture
def tiny_spec(tmp_path, monkeypatch):
    parts = []
    for i, payload in enumerate([b"GGUF-part-one-", b"part-two"], start=1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(payload)
        parts.append(path)
    data = b"".join(p.read_bytes() for p in parts)
    spec = ChunkedGguf(name="tiny", package_prefix="tiny-part", parts=2, version="1", size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), filename="tiny.gguf")
    monkeypatch.setattr(ChunkedGguf, "part_paths", lambda self: parts)
    return spec, parts


def test_assemble_concatenates_in_order_and_verifies(tmp_path, tiny_spec):
    spec, _ = tiny_spec
    path = model_files.assemble(spec, tmp_path / "models", progress=None)

    assert path.read_bytes() == b"GGUF-part-one-part-two"
    assert model_files.verify_assembled(spec, tmp_path / "models") == path
    assert model_files.assemble(spec, tmp_path / "models", progress=None) == path  # idempotent


def test_corrupt_parts_are_refused_and_leave_no_file(tmp_path, tiny_spec):
    spec, parts = tiny_spec
    parts[1].write_bytes(b"part-twX")  # same size, other bytes

    with pytest.raises(ModelFileError, match="corrupt or incomplete"):
        model_files.assemble(spec, tmp_path / "models", progress=None)
    assert not list((tmp_path / "models").glob("tiny.gguf*"))


def test_a_file_changed_after_verification_fails_its_checksum(tmp_path, tiny_spec):
    spec, _ = tiny_spec
    path = model_files.assemble(spec, tmp_path / "models", progress=None)
    path.write_bytes(b"GGUF-part-one-part-twX")

    with pytest.raises(ModelFileError, match="fails its checksum"):
        model_files.verify_assembled(spec, tmp_path / "models")


def test_missing_package_names_the_install_command():
    spec = ChunkedGguf(name="x", package_prefix="no-such-model-part", parts=1, version="1", size=1, sha256="0", filename="x.gguf")
    with pytest.raises(ModelFileError, match="no-such-model-part1 is not installed"):
        spec.part_paths()


def test_settings_can_point_at_any_gguf_file(tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    not_gguf = tmp_path / "notes.txt"
    not_gguf.write_text("hello")

    assert model_files.resolve_generative_model(str(gguf), tmp_path) == gguf
    with pytest.raises(ModelFileError, match="is not a GGUF file"):
        model_files.resolve_generative_model(str(not_gguf), tmp_path)
    with pytest.raises(ModelFileError, match="no config.json"):
        model_files.resolve_generative_model(str(tmp_path), tmp_path)


def test_the_default_models_are_assembled_and_verified(settings):
    path = model_files.resolve_generative_model("qwen2.5-coder-1.5b", settings.LLM_MODEL_DIR)
    assert path.stat().st_size == 1_117_320_768
    assert model_files.resolve_generative_model("smollm2-135m", settings.LLM_MODEL_DIR).exists()
