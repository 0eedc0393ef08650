"""Serving the interop tests' providers (Flask apps built on Authlib): on 127.0.0.1, a
free port, in a daemon thread, over plain http -- which Authlib refuses unless
AUTHLIB_INSECURE_TRANSPORT says otherwise."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """Serve `app` until the block ends; yield its base URL (http://127.0.0.1:port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def plain_http() -> Iterator[None]:
    """Authlib accepts http:// within the block; the variable is as before afterwards."""
    previous = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = previous
