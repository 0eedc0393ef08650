"""The production gunicorn config loads and its access log hides install-link tokens."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


def test_access_log_atoms_are_scrubbed():
    """A request path with an install-link token is logged without the token."""
    conf = runpy.run_path(str(CONF))
    logger_class = conf["logger_class"]
    token = "fakeLinkToken0123456789abcdefghijklmnop"
    request = SimpleNamespace(path=f"/install/{token}/", query="code=fake-code-1", uri="",
                              method="GET", version=(1, 1), headers=[])
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": f"/install/{token}/?code=fake-code-1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": request.path,
               "QUERY_STRING": request.query}
    atoms = logger_class.atoms(object.__new__(logger_class), response, request, environ,
                               SimpleNamespace(seconds=0, microseconds=1))
    assert token not in str(atoms)
    assert "fake-code-1" not in str(atoms)
