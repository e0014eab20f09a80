"""A real OpenAI-compatible inference server for the tests, and a tiny real proxy that misbehaves.

The server is llama-cpp-python's own (evaluation/llama_cpp_server.py) on the packaged SmolLM2 weights,
served under the registry name "smollm2-135m". The proxy sits in front of it and forwards
everything, except that it can answer 503 a given number of times, or drop `response_format` from
requests (a server that ignores JSON schemas).
"""

from __future__ import annotations

import http.client
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from evaluation.llama_cpp_server import LlamaCppServer

SERVED_NAME = "smollm2-135m"


def start_test_server(*, port: int, name: str = "llm-server") -> LlamaCppServer:
    from django.conf import settings

    from llm.model_files import GENERATIVE_MODELS

    log_path = Path(__file__).resolve().parent.parent / "var" / f"{name}-{port}.log"
    return LlamaCppServer.start(model_path=GENERATIVE_MODELS[SERVED_NAME].path(), alias=SERVED_NAME, port=port, log_path=log_path,
                                threads=settings.LLM_THREADS)


class MisbehavingProxy:
    """Forwards http://127.0.0.1:<port>/v1/... to `upstream` (a base URL ending in /v1), streaming
    the answer through as it comes. `busy` answers 503 to that many chat completions first;
    `ignore_schema` drops response_format from requests."""

    def __init__(self, *, upstream: str, port: int, busy: int = 0, ignore_schema: bool = False):
        self.upstream = urlsplit(upstream)
        self.busy, self.ignore_schema = busy, ignore_schema
        self.answered_503 = 0
        self.seen: list[dict] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes: streams pass through

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _forward(self, body: bytes | None):
                if body is not None and self.path.endswith("/chat/completions"):
                    request = json.loads(body)
                    proxy.seen.append(request)
                    if proxy.answered_503 < proxy.busy:
                        proxy.answered_503 += 1
                        self.send_response(503)
                        self.send_header("Retry-After", "0")
                        self.end_headers()
                        self.wfile.write(b'{"error": "server busy"}')
                        return
                    if proxy.ignore_schema:
                        request.pop("response_format", None)
                    body = json.dumps(request).encode()
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                headers = {"Content-Type": "application/json"} if body is not None else {}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                self.send_response(response.status)
                self.send_header("Content-Type", response.getheader("Content-Type", "application/json"))
                self.end_headers()
                while piece := response.read1(65536):
                    self.wfile.write(piece)
                    self.wfile.flush()
                upstream.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> MisbehavingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
