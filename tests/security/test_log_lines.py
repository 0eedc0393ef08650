"""SECURITY.md "Logging": control characters in logged values are escaped (no forged
lines), in gunicorn's access log too, and the development server's log is scrubbed like
the rest (no install-link token or authorization code in it)."""

from __future__ import annotations

import io
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from django.core.servers.basehttp import WSGIRequestHandler
from gunicorn.config import Config

from config.log_scrub import ScrubSecretsFilter, escape_controls

CONF = Path(__file__).resolve().parent.parent.parent / "config" / "gunicorn.conf.py"
TOKEN = "fakeLinkToken0123456789abcdefghijklmnop"
FORGED = '127.0.0.1 "GET /admin/ HTTP/1.1" 200 0 0s'


def access_log_lines(tmp_path: Path, path: str) -> list[str]:
    """What the production gunicorn config writes to its access log for one request."""
    conf = runpy.run_path(str(CONF))
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", conf["access_log_format"])
    logger = conf["logger_class"](cfg)
    request = SimpleNamespace(path=path, query="", uri=path, method="GET", version=(1, 1),
                              headers=[("USER-AGENT", "curl\x1b[31m")])
    response = SimpleNamespace(status="200 OK", response_length=0, sent=0, headers=[])
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": path.replace("\n", "%0A"),
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": path,
               "QUERY_STRING": ""}
    logger.access(response, request, environ, timedelta(microseconds=1))
    for handler in logger.access_log.handlers:
        handler.flush()
    return (tmp_path / "access.log").read_text().splitlines()


def test_a_newline_in_the_path_does_not_forge_an_access_log_line(tmp_path):
    """GET /x%0A<forged line>: one line, the newline written as \\n."""
    lines = access_log_lines(tmp_path, f"/x\n{FORGED}")
    assert len(lines) == 1
    assert "/x\\n127.0.0.1" in lines[0]


def test_the_access_log_still_hides_install_link_tokens(tmp_path):
    """Escaping keeps the scrubbing: an install-link token in the path is redacted."""
    lines = access_log_lines(tmp_path, f"/install/{TOKEN}/\r\n")
    assert len(lines) == 1 and TOKEN not in lines[0]


def test_escape_controls_covers_c0_c1_and_line_separators():
    """CR, LF, ESC, NUL, DEL, NEL and U+2028 become visible escapes; text stays as it is."""
    assert escape_controls("a\r\nb\x1bc\x00d\x7fe\x85f\u2028g ü") == (
        "a\\r\\nb\\x1bc\\x00d\\x7fe\\x85f\\u2028g ü")


def test_django_log_records_are_escaped():
    """A decoded path logged by Django ("Not Found: /x\\n…") stays on one line."""
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Not Found: %s", (f"/x\n{FORGED}",), None)
    assert ScrubSecretsFilter().filter(record)
    assert "\n" not in record.getMessage()


def dev_server_log(requestline: str) -> str:
    """What the `django.server` logger passes to its handlers for one runserver request."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    logger = logging.getLogger("django.server")
    logger.addHandler(capture)
    try:
        handler = object.__new__(WSGIRequestHandler)
        handler.request, handler.requestline = None, requestline
        handler.log_request(200, 10)
    finally:
        logger.removeHandler(capture)
    return stream.getvalue()


def test_the_development_server_log_is_scrubbed():
    """runserver's request line loses the install-link token and the authorization code."""
    logged = dev_server_log(f"GET /install/{TOKEN}/?code=fake-code-1&state=s1 HTTP/1.1")
    assert logged
    assert TOKEN not in logged and "fake-code-1" not in logged
    assert "state=s1" in logged


def test_the_development_server_log_is_escaped():
    """A control character in runserver's request line does not reach the log raw."""
    logged = dev_server_log("GET /x\x1b[2J\rforged HTTP/1.1")
    assert "\x1b" not in logged and "\r" not in logged
