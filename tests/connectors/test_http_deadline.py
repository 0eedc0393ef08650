"""Every outbound request has a total deadline -- connecting, waiting and reading together
-- not only a timeout per socket read: a provider trickling its answer a byte at a time
is cut off when the request's timeout has passed, in every kind of session."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from connectors import deadline, http
from tests.slow_server import Script, slow_server

BODY = b'{"access_token": "fake-token-drip", "token_type": "Bearer", "pad": "' + b"x" * 300 + b'"}'


@pytest.fixture(autouse=True)
def real_transport(monkeypatch, settings):
    settings.ALLOW_LOCAL_PROVIDERS = True
    monkeypatch.setattr(http, "transport", http.default_transport)


def timed(call) -> float:
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        call()
    return time.monotonic() - started


@pytest.mark.parametrize("script", [
    Script(body=BODY, drip_body=True, pause=0.05),
    Script(drip_head=True, pause=0.2),
    Script(hang=5),
], ids=["body", "headers", "silent"])
def test_a_trickling_answer_is_cut_off_at_the_deadline(script):
    """1 s in all, though every byte arrives well within the per-read timeout."""
    with slow_server(script) as base:
        took = timed(lambda: http.Session().get(f"{base}/me", timeout=1))
    assert took < 3  # the provider would take 14 s or more


def test_token_requests_have_the_deadline_too(settings):
    """A refresh (REFRESH_TIMEOUT) answered a byte at a time gives up in time."""
    settings.REFRESH_TIMEOUT = 1
    with slow_server(Script(body=BODY, drip_body=True, pause=0.05)) as base:
        session = http.OAuth2(client_id="fake-client-id",
                              token={"access_token": "a", "refresh_token": "fake-refresh"})
        took = timed(lambda: session.refresh_token(f"{base}/token",
                                                   refresh_token="fake-refresh"))
    assert took < 3  # the provider would take 14 s or more


def test_a_streamed_answer_is_cut_off_too():
    """stream=True (the proxy's): reading the body stops at the deadline."""
    with slow_server(Script(body=BODY, drip_body=True, pause=0.05)) as base:
        response = http.Session().get(f"{base}/me", timeout=1, stream=True)
        started = time.monotonic()
        with pytest.raises(requests.RequestException):
            b"".join(response.iter_content(1024))
        assert http.past_deadline(response)
    assert time.monotonic() - started < 3


def test_kept_connections_outlive_an_earlier_request_s_deadline():
    """A deadline passing after its request finished does not break the kept connection
    the next request uses."""
    with slow_server(Script(body=BODY)) as base:
        session = http.Session()
        # A deadline short enough to pass while the test waits, long enough for a busy
        # machine to finish the request within it.
        assert session.get(f"{base}/a", timeout=1.5).content == BODY
        time.sleep(2)
        assert session.get(f"{base}/b", timeout=5).content == BODY
        assert session.get(f"{base}/c", timeout=5, stream=True).content == BODY


class CountingCondition(threading.Condition):
    """A Condition that counts the waits its watchdog thread starts."""

    waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_the_watchdog_sleeps_through_the_deadlines_of_finished_requests():
    """It used to wake at every request's deadline, finished or not: a wake-up, and a
    switch of the GIL away from the request being served, per outbound request."""
    dog = deadline.Watchdog()
    dog._wakeup = CountingCondition()
    for _ in range(60):
        watch = dog.watch(0.05)
        time.sleep(0.002)
        watch.done = True  # finished long before its deadline, as nearly every request is
    time.sleep(0.3)  # every deadline has passed
    assert dog._wakeup.waits < 20  # 61 before: one a request, one more at the start


def test_a_request_still_going_is_cut_off_among_finished_ones():
    """Finished requests are dropped from the watch; one still going behind them is
    expired at its deadline all the same."""
    dog = deadline.Watchdog()
    finished = [dog.watch(0.05) for _ in range(5)]
    for watch in finished:
        watch.done = True
    going = dog.watch(0.2)
    time.sleep(0.1)
    assert not going.expired
    time.sleep(0.4)
    assert going.expired
    assert not any(watch.expired for watch in finished)
