#!/usr/bin/env python
"""Benchmark the console's pages under gunicorn on PostgreSQL: requests/s, p50, p99, RSS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/web.py [--duration 10] [--workers 2] [--connections 4]
                                      [--compare-connections]

What it does, all on this machine (gunicorn listens on 127.0.0.1 only):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it and seeds 2,000 connectors (as
   bench/pages.py does: `common.seed_catalogue`), a partner whose admin is logged in,
   an account with an install, and an install link for that account;
2. starts gunicorn with config/gunicorn.conf.py, W sync workers (or --threads), on a free
   loopback port;
3. loads each page for --duration seconds, in 3 interleaved rounds (so that a change in
   the machine's other load falls on every page alike), with wrk when it is on PATH
   (else a bounded Python loop of C client threads): the "ok" view (/healthz/live), the
   login page (anonymous), the Application Connector Library (logged in), an install's
   page (logged in) and the customer landing page (the install link, opened once before
   so its session exists);
4. prints requests/s, p50 (the median of the rounds') and p99 (the worst round's) of
   each, and each page's ratio to the login page;
5. keeps loading the library until the server has answered 10,000 requests in all, then
   prints each worker's RSS, beside its RSS after the warm-up;
6. with --compare-connections, starts one gunicorn for each way of connecting to
   PostgreSQL -- a new connection per request (CONN_MAX_AGE=0, the baseline), persistent
   connections (CONN_MAX_AGE=60), psycopg's pool (DATABASE_POOL=true) -- loads them in
   turn over interleaved rounds, and prints the database pages' rates and their ratios
   to the baseline;
7. with --py-spy PAGE, instead loads that page alone for --duration while py-spy samples
   the workers, and prints where they spent their time serving it.

It also prints the CPU each part of the machine (the workers, PostgreSQL, the client)
spent per request of each page. Every wait is bounded; gunicorn is stopped whatever
happens. Secrets are bench-only values.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests
from common import (
    ROUNDS,
    CpuMeter,
    Result,
    bench_environment,
    combined,
    free_port,
    fresh_database,
    py_spied,
    run_python,
    run_wrk,
    scratch_database,
    seed_catalogue,
    setup_django,
    start_server,
    stop_server,
    worker_pids,
)

BASE_DIR = Path(__file__).resolve().parent.parent
RSS_AFTER = 10_000  # requests
CONNECTION_MODES = {
    "new connection per request": {"CONN_MAX_AGE": "0", "DATABASE_POOL": "false"},
    "CONN_MAX_AGE=60": {"CONN_MAX_AGE": "60", "DATABASE_POOL": "false"},
    "psycopg pool": {"DATABASE_POOL": "true"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (W)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (1: sync workers; more: gthread)")
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent client connections (C)")
    parser.add_argument("--connectors", type=int, default=2000, help="catalogue size")
    parser.add_argument("--compare-connections", action="store_true",
                        help="also compare the ways of connecting to PostgreSQL")
    parser.add_argument("--python-client", action="store_true",
                        help="use the Python load loop even when wrk is installed")
    parser.add_argument("--py-spy", dest="py_spy", metavar="PAGE",
                        help="load this page alone (a name as printed, e.g. library) for "
                             "--duration while py-spy samples the workers")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()




# --- seeding -------------------------------------------------------------------------------


def seed(connectors: int) -> dict[str, Any]:
    """The catalogue and a logged-in admin (`seed_catalogue`), an install and an install link."""
    from django.test import Client

    from connectors.models import Connector
    from installs.models import Install
    from links import services as links

    seeded = seed_catalogue(connectors)
    account, configured = seeded["account"], Connector.objects.order_by("pk").first()
    install = Install.objects.create(account=account, connector=configured, name="Bench install")
    _, token = links.create_link(account=account, connectors=[configured])
    client = Client()
    client.force_login(seeded["user"])
    return {"session": client.cookies["sessionid"].value, "account": account,
            "install": install, "token": token}


def pages(seeded: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Page name -> (path, logged in)."""
    from django.urls import reverse

    install = seeded["install"]
    return {
        "ok (/healthz/live)": (reverse("healthz_live"), False),
        "login, anonymous": (reverse("login"), False),
        "library, logged in": (reverse("connectors:library"), True),
        "install page, logged in": (reverse("accounts:install",
                                            args=[install.account_id, install.pk]), True),
        "customer landing": (reverse("install:landing", args=[seeded["token"]]), False),
    }


# --- the server ----------------------------------------------------------------------------














def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- load ----------------------------------------------------------------------------------


def cookie_header(base: str, path: str, logged_in: bool, session: str) -> str:
    """The Cookie a browser would send; a customer page is opened once to get its own."""
    if logged_in:
        return f"sessionid={session}"
    response = requests.get(base + path, timeout=10, allow_redirects=False)
    return "; ".join(f"{c.name}={c.value}" for c in response.cookies)


def check_page(url: str, cookie: str) -> None:
    """A page that redirects (to the login page) or fails would measure the wrong thing."""
    response = requests.get(url, headers={"Cookie": cookie}, timeout=10, allow_redirects=False)
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}, not 200: not benchmarking it")








# --- runs ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], seeded: dict[str, Any],
                 log: Path) -> None:
        self.args, self.env, self.seeded, self.log = args, env, seeded, log
        self.use_wrk = shutil.which("wrk") is not None and not args.python_client
        self.pages = pages(seeded)

    def load(self, base: str, name: str, duration: float,
             meter: CpuMeter | None = None) -> Result:
        path, logged_in = self.pages[name]
        cookie = cookie_header(base, path, logged_in, self.seeded["session"])
        check_page(base + path, cookie)
        run = run_wrk if self.use_wrk else run_python

        def load() -> Result:
            return run(base + path, {"Cookie": cookie} if cookie else {}, duration,
                       self.args.connections)

        return meter.measure(name, load) if meter else load()

    def serve(self, extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        server = start_server({**self.env, **extra_env}, port, self.args, self.log)
        return server, f"http://127.0.0.1:{port}"

    def main_run(self) -> None:
        server, base = self.serve({})
        try:
            served = sum(self.load(base, name, 2).requests for name in self.pages)  # warm-up
            warm = {pid: rss_mb(pid) for pid in worker_pids(server)}
            meter = CpuMeter({"gunicorn": server}, self.use_wrk)
            rounds: dict[str, list[Result]] = {name: [] for name in self.pages}
            for _ in range(ROUNDS):  # interleaved, as in compare_connections
                for name in self.pages:
                    rounds[name].append(self.load(base, name, self.args.duration / ROUNDS,
                                                  meter))
                    served += rounds[name][-1].requests
            results = {name: combined(each) for name, each in rounds.items()}
            while served < RSS_AFTER:
                served += self.load(base, "library, logged in", 5).requests
            rss = {pid: rss_mb(pid) for pid in worker_pids(server)}
        finally:
            stop_server(server)
        print_results(results, "login, anonymous")
        meter.print()
        print(f"\ngunicorn workers' RSS after {served:,} requests (after the warm-up):")
        for pid, mb in rss.items():
            print(f"  worker {pid}: {mb:6.1f} MB  ({warm.get(pid, 0.0):.1f} MB)")

    def spy(self, page: str, workdir: Path) -> None:
        name = next((n for n in self.pages if n.startswith(page)), None)
        if name is None:
            sys.exit(f"--py-spy: no page {page!r} (one of: {', '.join(self.pages)})")
        server, base = self.serve({})
        try:
            self.load(base, name, 2)  # warm-up
            py_spied({"gunicorn": server}, lambda: self.load(base, name, self.args.duration),
                     self.args.duration, workdir, name)
        finally:
            stop_server(server)

    def compare_connections(self) -> None:
        """All modes' servers at once, loaded in turn over the rounds."""
        names = ["library, logged in", "install page, logged in", "customer landing"]
        servers = {mode: self.serve(extra_env) for mode, extra_env in CONNECTION_MODES.items()}
        totals = {mode: {name: [0, 0.0] for name in names} for mode in servers}
        try:
            for _, base in servers.values():
                for name in names:
                    self.load(base, name, 1)  # warm-up
            for _ in range(ROUNDS):
                for name in names:
                    for mode, (_, base) in servers.items():
                        result = self.load(base, name, max(1.0, self.args.duration / ROUNDS))
                        totals[mode][name][0] += result.requests
                        totals[mode][name][1] += result.seconds
        finally:
            for server, _ in servers.values():
                stop_server(server)
        rates = {mode: {n: done / seconds for n, (done, seconds) in by_name.items()}
                 for mode, by_name in totals.items()}
        baseline = rates[next(iter(CONNECTION_MODES))]
        print(f"\nConnecting to PostgreSQL ({ROUNDS} interleaved rounds): req/s, and the ratio "
              "to a new connection per request")
        print(f"  {'':<28}" + "".join(f"{name:>26}" for name in names))
        for mode, by_name in rates.items():
            print(f"  {mode:<28}" + "".join(
                f"{by_name[n]:>17.1f} ({by_name[n] / baseline[n]:4.2f}×)" for n in names))




def print_results(results: dict[str, Result], reference: str) -> None:
    base = results[reference].rate
    print(f"\n{'page':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'× login':>9}{'errors':>8}")
    for name, result in results.items():
        print(f"{name:<26}{result.rate:>9.1f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
              f"{result.rate / base:>9.2f}{result.errors:>8}")


def main() -> None:
    args = parse_args()
    config, bench_url = scratch_database()
    workdir = Path(tempfile.mkdtemp(prefix="hatchway-web-bench-"))
    with fresh_database(config, keep=args.keep):
        try:
            env = bench_environment(bench_url, ALLOWED_HOSTS="127.0.0.1")
            setup_django()
            print(f"Seeding {args.connectors} connectors in {config['NAME']} …", flush=True)
            bench = Bench(args, env, seed(args.connectors), workdir / "access.log")
            client = "wrk" if bench.use_wrk else "the Python load loop"
            kind = "sync" if args.threads == 1 else f"gthread ({args.threads} threads)"
            print(f"gunicorn: {args.workers} {kind} workers; {client}, {args.connections} "
                  f"connections, {args.duration:g} s a page; all on 127.0.0.1", flush=True)
            if args.py_spy:
                bench.spy(args.py_spy, workdir)
                return
            bench.main_run()
            if args.compare_connections:
                bench.compare_connections()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
