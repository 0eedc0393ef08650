#!/usr/bin/env python
"""Time the console's catalogue pages in process: the library, the guides, the install picker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/pages.py [--connectors 2000] [--requests 200] [--profile library]

It creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped at
the end unless --keep), migrates it, seeds N connectors, a partner with an admin who saved
the Authentication Settings of 3 of them and an account, settles the tables as autovacuum
would (VACUUM ANALYZE on PostgreSQL), then requests each page through
Django's test client (middleware, session and user lookups, templates: everything but the
socket) and prints the median and p90 time per request and the queries per request. The
first requests warm any cache and are not counted. The library and the guides are timed
twice: with their listing cached, as requests after the first are, and rendered on every
request, as the first after a change to the catalogue or the partner's settings is.
`--profile PAGE` runs pyinstrument over that page instead. Nothing listens on a port.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from common import bench_environment, fresh_database, scratch_database, seed_catalogue, setup_django

BASE_DIR = Path(__file__).resolve().parent.parent
WARM_UP = 20
LISTED = ("library", "guides")  # pages whose listing is cached (connectors/cards.py)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connectors", type=int, default=2000, help="catalogue size (N)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--profile", choices=["library", "guides", "install_pick"],
                        help="profile this page with pyinstrument instead of timing all")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()








def page_urls(account: Any) -> dict[str, str]:
    from django.urls import reverse

    return {"library": reverse("connectors:library"), "guides": reverse("connectors:guides"),
            "install_pick": reverse("accounts:install_pick", args=[account.pk])}


def time_page(client: Any, url: str, requests: int, *,
              rendered: bool = False) -> tuple[list[float], int]:
    """Seconds per request after the warm-up, and the queries of the last request.

    `rendered`: empty the listings cache before each request (outside the timing), so that
    every request renders its listing, as the first after a change does.
    """
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from connectors.cards import LISTINGS_ALIAS

    def maybe_empty() -> None:
        if rendered:
            caches[LISTINGS_ALIAS].clear()

    for _ in range(WARM_UP):
        maybe_empty()
        assert client.get(url).status_code == 200, url
    seconds = []
    for _ in range(requests):
        maybe_empty()
        started = time.perf_counter()
        client.get(url)
        seconds.append(time.perf_counter() - started)
    maybe_empty()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return seconds, len(queries)


def report(name: str, seconds: list[float], queries: int) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[int(len(ms) * 0.9) - 1]
    print(f"{name:<26} median {statistics.median(ms):6.2f} ms   p90 {p90:6.2f} ms   "
          f"{queries} queries   ({len(ms)} requests)")


def profile(client: Any, url: str, requests: int) -> None:
    from pyinstrument import Profiler

    for _ in range(WARM_UP):
        client.get(url)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(requests):
            client.get(url)
    print(profiler.output_text(unicode=True, color=False, show_all=False, timeline=False))


def main() -> None:
    args = parse_args()
    config, bench_url = scratch_database()
    with fresh_database(config, keep=args.keep):
        bench_environment(bench_url, ALLOWED_HOSTS="testserver")
        setup_django()
        from django.test import Client

        seeded = seed_catalogue(args.connectors)
        client = Client()
        client.force_login(seeded["user"])
        urls = page_urls(seeded["account"])
        print(f"{args.connectors} connectors, in process (test client, no socket):")
        if args.profile:
            profile(client, urls[args.profile], args.requests)
            return
        for name, url in urls.items():
            report(name, *time_page(client, url, args.requests))
            if name in LISTED:
                report(f"{name}, listing rendered",
                       *time_page(client, url, args.requests, rendered=True))


if __name__ == "__main__":
    main()
