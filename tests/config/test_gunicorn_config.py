"""The production gunicorn config loads and its access log hides install-link tokens."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


TOKEN = "fakeLinkToken0123456789abcdefghijklmnop"
REQUEST = SimpleNamespace(path=f"/install/{TOKEN}/", query="code=fake-code-1", uri="",
                          method="GET", version=(1, 1), headers=[])
RESPONSE = SimpleNamespace(status="200 OK", response_length=10, sent=10,
                           headers=[("X-Request-ID", "probe-request-0001")])
ENVIRON = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": f"/install/{TOKEN}/?code=fake-code-1",
           "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": REQUEST.path,
           "QUERY_STRING": REQUEST.query}
REQUEST_TIME = SimpleNamespace(seconds=0, microseconds=1)


def test_access_log_atoms_are_scrubbed():
    """A request path with an install-link token is logged without the token."""
    conf = runpy.run_path(str(CONF))
    logger_class = conf["logger_class"]
    atoms = logger_class.atoms(object.__new__(logger_class), RESPONSE, REQUEST, ENVIRON,
                               REQUEST_TIME)
    assert TOKEN not in str(atoms)
    assert "fake-code-1" not in str(atoms)


def test_json_log_format_covers_gunicorns_own_lines(monkeypatch, capsys):
    """With LOG_FORMAT=json the error and access logs are JSON lines too, still scrubbed."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    conf = runpy.run_path(str(CONF))
    cfg = Config()
    for name in ("errorlog", "accesslog", "access_log_format"):
        cfg.set(name, conf[name])
    logger = conf["logger_class"](cfg)
    logger.error("worker %s exiting", 7)
    logger.access(RESPONSE, REQUEST, ENVIRON, REQUEST_TIME)
    captured = capsys.readouterr()
    error, access = json.loads(captured.err), json.loads(captured.out)
    assert error["logger"] == "gunicorn.error" and error["message"] == "worker 7 exiting"
    assert access["logger"] == "gunicorn.access" and '"GET /install/' in access["message"]
    assert access["message"].endswith(" probe-request-0001")
    assert TOKEN not in captured.out


def test_a_worker_freezes_what_it_loaded(db):
    """post_worker_init loads the URLs and takes what is loaded out of the collector's
    full passes (gc.freeze)."""
    import gc

    conf = runpy.run_path(str(CONF))
    gc.unfreeze()
    try:
        conf["post_worker_init"](SimpleNamespace())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
