"""llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`) on a local GGUF,
started as a child process: the tests' real inference server and the HTTP side of
`bench --part backends`. In production run llama.cpp's llama-server or vLLM instead
(docker-compose profiles cpu-server and gpu): this one serves one request at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


class LlamaCppServer:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def start(cls, *, model_path: Path, alias: str, port: int, log_path: Path, threads: int = 2,
              context_tokens: int = 4096) -> LlamaCppServer:
        """Start it and wait until it answers (at most 90 s); raises RuntimeError with its log's tail otherwise."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context_tokens), "--n_threads", str(threads),
                 "--verbose", "False",
                 # By default a new request cuts the one streaming short (it sends [DONE] early): concurrent
                 # chat turns would end mid-answer. Here they wait their turn instead.
                 "--interrupt_requests", "False"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
        server = cls(process, port, log_path)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return server
            except OSError:
                time.sleep(0.3)
        server.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on port {port} within 90 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
