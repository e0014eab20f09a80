"""The attack suite's tools: a real web server (gunicorn + uvicorn workers, as `make run` starts it)
on the test database, raw event-stream clients, and anonymous visitors with a pending answer."""

import os
import socket
from importlib import import_module

import pytest
from django.conf import settings

from support.models import ChatTurn, Conversation

# The caps the test server runs with: small, so that tests can fill them.
SERVER_CAPS = {"CHAT_STREAMS_PER_TURN": 2, "CHAT_STREAMS_PER_SESSION": 3, "CHAT_STREAMS_PER_IP": 4}


@pytest.fixture(scope="module")
def web_server(django_db_setup, django_db_blocker):
    """(host, port) of a real web server on the test database, trusting 127.0.0.1 as its proxy.
    Tests using it need django_db(transaction=True), so the server sees their rows."""
    from django.db import connection

    from evaluation.bench_streams import running_web_server

    env = {"DJANGO_SETTINGS_MODULE": "config.django.test", "TEST_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
           "TRUSTED_PROXIES": "127.0.0.1", **{name: str(value) for name, value in SERVER_CAPS.items()}}
    with running_web_server(env=env, port=int(os.environ.get("TEST_WEB_PORT", "0"))) as address:
        yield address


class Stream:
    """One raw HTTP/1.1 GET kept open (an SSE client); .status once the headers came."""

    def __init__(self, address, path: str, *, session_key: str = "", forwarded_for: str = ""):
        self.sock = socket.create_connection(address, timeout=30)
        headers = [f"GET {path} HTTP/1.1", f"Host: {address[0]}", "Accept: text/event-stream"]
        if session_key:
            headers.append(f"Cookie: {settings.SESSION_COOKIE_NAME}={session_key}")
        if forwarded_for:
            headers.append(f"X-Forwarded-For: {forwarded_for}")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            received += chunk
        self.head = received
        self.status = int(received.split(b" ", 2)[1]) if received else 0

    def close(self):
        self.sock.close()


def events_path(turn_id: int) -> str:
    return f"/api/support/chat/turns/{turn_id}/events/"


def anonymous_visitor() -> str:
    """A saved anonymous session (what a browser's cookie names)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.create()
    return session.session_key


def pending_turn(session_key: str) -> int:
    """A pending answer of that session's conversation (never queued: it waits, as behind a busy worker)."""
    conversation = Conversation.objects.create(session_key=session_key)
    return ChatTurn.objects.create(conversation=conversation, question="Is the stove safe indoors?").pk
