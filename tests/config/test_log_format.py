"""LOG_FORMAT: text by default, one JSON object per line with `json`, anything else refused."""

from __future__ import annotations

import json
import re

from tests.config.test_deploy_settings import run_manage

LOG_A_LINE = ("import logging; logging.getLogger('hatchway.test').warning("
              "'refresh answered %s', 'access_token=fake-token-raw-7')")


def test_text_is_the_default_and_is_scrubbed():
    """Without LOG_FORMAT a line reads "time LEVEL logger message", the token redacted."""
    result = run_manage("shell", "-c", LOG_A_LINE)
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+ WARNING hatchway.test "
                        r"refresh answered access_token=\[redacted\]", line), line


def test_json_gives_one_object_per_line_and_is_scrubbed():
    """LOG_FORMAT=json: the line parses as JSON with time, level, logger and message."""
    result = run_manage("shell", "-c", LOG_A_LINE, extra={"LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["level"] == "WARNING" and entry["logger"] == "hatchway.test"
    assert entry["message"] == "refresh answered access_token=[redacted]"
    assert "fake-token-raw-7" not in result.stderr


def test_an_unknown_format_is_refused():
    """A typo does not silently fall back to some format."""
    result = run_manage("check", extra={"LOG_FORMAT": "xml"})
    assert result.returncode != 0 and "LOG_FORMAT" in result.stderr
