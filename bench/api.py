#!/usr/bin/env python
"""Benchmark the partner API under gunicorn on PostgreSQL: credentials reads and the proxy.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/api.py [--duration 20] [--workers 2] [--connections 4]
                                      [--provider static] [--profile credentials]

What it does, all on this machine (both servers listen on 127.0.0.1 only):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it and seeds a partner (branded, with a
   64 KB logo) with an API key of every scope and one authenticated "Sandbox (OAuth 2.0)"
   install whose tokens the sandbox issued (sandbox/seeding.py), valid for a
   day: no refresh is due;
2. starts two gunicorns, each with config/gunicorn.conf.py and W sync workers: the
   sandbox playing the provider, and Hatchway, whose PUBLIC_URL is the sandbox's (so
   the connector's API base URL is the sandbox server) and whose ROOT_URLCONF is
   bench/api_urls.py: the project's URLs plus one bench-only view that only checks the
   key (bench/api_settings.py; the project itself gains no endpoint);
3. loads four requests in 3 interleaved rounds (so that a change in the machine's other
   load falls on each alike), with wrk when it is on PATH (else bench/common.py's bounded
   Python loop of C client threads):
   - the key-only view, `GET /api/bench/key-only` with the key;
   - `GET /api/v1/installs/{id}/credentials` with the key;
   - `GET /sandbox/api/me` sent straight to the sandbox with the install's token;
   - `GET /api/v1/proxy/{id}/me` with the key: the same GET through Hatchway;
4. prints requests/s, p50 (the median of the rounds') and p99 (the worst round's) of
   each, the two ratios against their targets (credentials >= 0.5x the key-only view,
   proxied >= 0.7x direct), and what must hold meanwhile: every credentials read counted
   in the audit log (against gunicorn's access log), no refresh, no error; then the CPU
   each part of the machine spent per request, and the hot paths' targets: Hatchway's
   CPU per credentials read <= 1.4x the key-only view's and per proxied GET <= 1.6x,
   and p99 <= 3x p50 for both;
5. prints what bounds the ratios here: each Hatchway request's queries, what a durable
   commit costs on this database (every credentials read commits its audit count), and
   the ratio a proxy doing nothing but the key check would reach while the sandbox
   shares the machine's CPU with it.

`--provider static` replaces the sandbox, once the answers are checked, with
bench/static_provider.py on the same port: one asyncio process answering every request
with the sandbox's recorded answer to GET /me, byte for byte, and no Django or database
behind it. The provider's own work then hardly shares the machine's CPUs (and their
caches) with Hatchway's workers, as a real provider's would not: the proxied GET's
Hatchway CPU with and without the sandbox's shows what the sandbox adds to it. (The CPU
table's "sandbox" column is then the static provider's process.)

`--profile credentials|proxy|key-only` runs pyinstrument over that request in this
process instead (Django's test client with the same settings; the proxy still calls the
sandbox's gunicorn). `--py-spy credentials|proxy|key-only` loads that request alone for
--duration while py-spy samples every Hatchway gunicorn worker (and the sandbox's for the
proxy), and prints where the workers spent their time serving it. `--instructions` counts,
with valgrind's cachegrind, the instructions each Hatchway request executes in a child
process (Django's test client, the same settings; --requests requests minus none): unlike
CPU time, the same count twice differs by under 0.5 % on a shared machine, so the two
ratios can be compared between changes. Every wait is bounded; both gunicorns are stopped
whatever happens. Secrets are generated, bench-only values.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
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
    setup_django,
    start_server,
    stop_server,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# whitenoise warns on every in-process request when collectstatic has not run (as in tests)
warnings.filterwarnings("ignore", "No directory at", UserWarning)
SETTINGS = "bench.api_settings"
KEY_ONLY_PATH = "/api/bench/key-only"  # bench/api_urls.py
LOGO_BYTES = 64 * 1024
WARM_UP = 2.0  # seconds of load per request before the rounds
#: (measured, baseline, target ratio)
PAIRS = [("credentials", "key-only view", 0.5), ("proxied GET /me", "direct GET /me", 0.7)]
#: Hatchway's CPU per request at most this many times the key-only view's
CPU_TARGETS = {"credentials": 1.4, "proxied GET /me": 1.6}
TAIL_TARGET = 3.0  # p99 / p50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20,
                        help="seconds of load per request, over the rounds")
    parser.add_argument("--workers", type=int, default=2, help="Hatchway's gunicorn workers")
    parser.add_argument("--sandbox-workers", type=int, default=2,
                        help="gunicorn workers playing the sandbox")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per Hatchway worker (1: sync workers; more: gthread)")
    parser.add_argument("--sandbox-threads", type=int, default=2,
                        help="threads per sandbox worker; 2 (gthread) keeps connections alive "
                             "as providers do, 1 (sync) closes each after its answer")
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent client connections (C)")
    parser.add_argument("--profile", choices=["credentials", "proxy", "key-only"],
                        help="profile this request with pyinstrument instead of loading all")
    parser.add_argument("--py-spy", dest="py_spy", choices=["credentials", "proxy", "key-only"],
                        help="load this request alone while py-spy samples Hatchway's workers")
    parser.add_argument("--requests", type=int, default=500,
                        help="requests profiled with --profile (counted with --instructions)")
    parser.add_argument("--instructions", action="store_true",
                        help="count each request's instructions (valgrind) instead of loading")
    parser.add_argument("--count-child", dest="count_child", nargs=2,
                        metavar=("REQUEST", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--python-client", action="store_true",
                        help="use the Python load loop even when wrk is installed")
    parser.add_argument("--provider", choices=["sandbox", "static"], default="sandbox",
                        help="static: the sandbox's answer to GET /me, recorded and served "
                             "by bench/static_provider.py")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


@dataclass
class Target:
    """One request to load: which server, the path, the headers it is sent with."""

    server: str  # "hatchway" or "sandbox"
    path: str
    headers: dict[str, str]


# --- seeding -------------------------------------------------------------------------------


def seed() -> dict[str, Any]:
    """A partner's key of every scope and one working OAuth 2.0 install, no refresh due."""
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Partner
    from api import services as keys
    from api.models import Scope
    from sandbox.models import SandboxToken
    from sandbox.seeding import seed_due_installs

    call_command("migrate", verbosity=0)
    # Branded, as partners' install pages are: a logo of a usual size (at most 256 KB).
    partner = Partner.objects.create(name="Bench", slug="bench", logo=os.urandom(LOGO_BYTES),
                                     logo_content_type="image/png")
    seeded = seed_due_installs(partner, 1, expires_in=timedelta(days=1).total_seconds())
    SandboxToken.objects.filter(client=seeded.client, kind=SandboxToken.Kind.ACCESS).update(
        expires_at=timezone.now() + timedelta(days=1))
    _, token = keys.create_key(partner=partner, name="Bench backend", scopes=Scope.values,
                               actor=None)
    install = seeded.installs[0]
    return {"key": token, "install": install,
            "access_token": install.credentials["access_token"]}


def targets(seeded: dict[str, Any]) -> dict[str, Target]:
    key = {"Authorization": f"Bearer {seeded['key']}"}
    install_id = seeded["install"].pk
    return {
        "key-only view": Target("hatchway", KEY_ONLY_PATH, key),
        "credentials": Target("hatchway", f"/api/v1/installs/{install_id}/credentials", key),
        "direct GET /me": Target("sandbox", "/sandbox/api/me",
                                 {"Authorization": f"Bearer {seeded['access_token']}"}),
        "proxied GET /me": Target("hatchway", f"/api/v1/proxy/{install_id}/me", key),
    }


# --- the servers and the load --------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], seeded: dict[str, Any],
                 ports: dict[str, int], workdir: Path) -> None:
        self.args, self.env, self.seeded, self.ports = args, env, seeded, ports
        self.logs = {name: workdir / f"{name}-access.log" for name in ports}
        self.bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        self.targets = targets(seeded)
        self.use_wrk = shutil.which("wrk") is not None and not args.python_client
        self.servers: dict[str, Any] = {}
        self.meter = CpuMeter(self.servers, self.use_wrk)  # the servers, once started

    def serve(self) -> list[Any]:
        """The sandbox first (Hatchway's PUBLIC_URL), then Hatchway with the bench URLs."""
        servers = []
        try:
            for name, workers, threads, settings in [
                    ("sandbox", self.args.sandbox_workers, self.args.sandbox_threads,
                     "config.settings"),
                    ("hatchway", self.args.workers, self.args.threads, SETTINGS)]:
                options = argparse.Namespace(workers=workers, threads=threads)
                servers.append(start_server({**self.env, "DJANGO_SETTINGS_MODULE": settings},
                                            self.ports[name], options, self.logs[name]))
                self.servers[name] = servers[-1]
        except BaseException:
            for server in servers:
                stop_server(server)
            raise
        return servers

    def replace_provider(self) -> subprocess.Popen[bytes]:
        """--provider static: record the sandbox's answer to GET /me, then serve it from
        bench/static_provider.py on the sandbox's port in the sandbox's stead."""
        target = self.targets["direct GET /me"]
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["sandbox"], timeout=10)
        try:
            connection.request("GET", target.path, headers=target.headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        head = [f"HTTP/1.1 {response.status} {response.reason}",
                *(f"{name}: {value}" for name, value in response.getheaders()
                  if name.lower() != "connection")]
        answer = self.logs["sandbox"].with_name("static-answer.http")
        answer.write_bytes("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        stop_server(self.servers["sandbox"])
        static = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "bench" / "static_provider.py"),
             str(self.ports["sandbox"]), str(answer), str(self.logs["sandbox"])],
            cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers["sandbox"] = static
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url(target), timeout=5).content == body:
                    return static
            except requests.ConnectionError:
                pass  # not listening yet
            time.sleep(0.1)
        stop_server(static)
        sys.exit("bench/static_provider.py did not answer within 30 s")

    def url(self, target: Target) -> str:
        return self.bases[target.server] + target.path

    def check(self) -> None:
        """Each answers 200, and the proxy answers what the sandbox does: else the load
        would measure a refusal."""
        answers = {}
        for name, target in self.targets.items():
            response = requests.get(self.url(target), headers=target.headers, timeout=10,
                                    allow_redirects=False)
            if response.status_code != 200:
                sys.exit(f"{name}: {target.path} answered {response.status_code}, not 200: "
                         "not benchmarking it")
            answers[name] = response.json()
        if answers["proxied GET /me"] != answers["direct GET /me"]:
            sys.exit("The proxied GET /me did not answer what the sandbox does")
        if answers["credentials"]["credentials"]["access_token"] != self.seeded["access_token"]:
            sys.exit("The credentials read did not return the install's token")

    def load(self, name: str, duration: float) -> Result:
        """One load of one request, its CPU by part of the machine counted by the meter."""
        target = self.targets[name]
        run = run_wrk if self.use_wrk else run_python
        return self.meter.measure(name, lambda: run(self.url(target), target.headers,
                                                    duration, self.args.connections))

    def run(self) -> dict[str, Result]:
        for name in self.targets:
            self.load(name, WARM_UP)
        rounds: dict[str, list[Result]] = {name: [] for name in self.targets}
        for _ in range(ROUNDS):
            for name in self.targets:
                rounds[name].append(self.load(name, self.args.duration / ROUNDS))
        return {name: combined(each) for name, each in rounds.items()}


def served(log: Path, path: str) -> Counter[str]:
    """Status counts of GETs of `path` in a gunicorn access log."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split('" ')[1].split()[0] for line in lines
                   if f'"GET {path} ' in line)


# --- reporting -----------------------------------------------------------------------------


def print_results(results: dict[str, Result]) -> None:
    print(f"\n{'request':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, result in results.items():
        print(f"{name:<18}{result.rate:>9.1f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
              f"{result.errors:>8}")
    print()
    for measured, baseline, target in PAIRS:
        ratio = results[measured].rate / results[baseline].rate
        verdict = "met" if ratio >= target else "MISSED"
        print(f"Ratio {measured} / {baseline}: {ratio:.2f}  (target >= {target}: {verdict})")


def print_targets(results: dict[str, Result], meter: CpuMeter) -> None:
    """The hot paths' targets, read off this run: Hatchway's CPU per request against the
    key-only view's, and each one's p99 against its p50."""
    key_only = meter.per_request("key-only view", "hatchway")
    for name, target in CPU_TARGETS.items():
        ratio = meter.per_request(name, "hatchway") / key_only
        tail = results[name].p99_ms / results[name].p50_ms
        print(f"Hatchway CPU {name} / key-only view: {ratio:.3f} (target <= {target}: "
              f"{'met' if ratio <= target else 'MISSED'}); p99 / p50: {tail:.2f} "
              f"(target <= {TAIL_TARGET:g}: {'met' if tail <= TAIL_TARGET else 'MISSED'})")


def print_invariants(bench: Bench, refreshes_before: int) -> None:
    """Every credentials read audited, no refresh, both proxied and direct GETs upstream."""
    from django.db.models import IntegerField, Sum
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    from audit.models import Action, AuditEvent
    from sandbox import services as sandbox

    install = bench.seeded["install"]
    reads = served(bench.logs["hatchway"], bench.targets["credentials"].path)
    audited = (AuditEvent.objects.filter(action=Action.INSTALL_CREDENTIALS_READ,
                                         install_id=install.pk)
               .aggregate(n=Sum(Cast(KT("detail__count"), IntegerField())))["n"] or 0)
    events = AuditEvent.objects.filter(action=Action.INSTALL_CREDENTIALS_READ,
                                       install_id=install.pk).count()
    proxied = served(bench.logs["hatchway"], bench.targets["proxied GET /me"].path)
    upstream = served(bench.logs["sandbox"], bench.targets["direct GET /me"].path)
    print(f"Credentials reads answered 200: {reads['200']:,}; audited: {audited:,} "
          f"in {events} events ({'every one' if audited == reads['200'] else 'NOT EQUAL'})")
    provider = "static provider" if bench.args.provider == "static" else "sandbox"
    print(f"Proxied GETs answered 200: {proxied['200']:,}; the {provider} answered "
          f"{sum(upstream.values()):,} GET /me in all ({dict(upstream)})")
    print(f"Refreshes during the run: {sandbox.refresh_count() - refreshes_before}")


def queries_per_request(bench: Bench) -> dict[str, int]:
    """Each Hatchway request's database queries (writes and commits included), counted
    in this process through Django's test client with the same settings."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name, target in bench.targets.items():
        if target.server == "hatchway":
            client = Client(headers=target.headers)
            client.get(target.path)  # the key's last-used note is behind us
            with CaptureQueriesContext(connection) as queries:
                assert client.get(target.path).status_code == 200, target.path
            counts[name] = len(queries)
    return counts


def commit_ms(samples: int = 100) -> float:
    """What one durable commit costs on this database (an UPDATE in autocommit: the WAL
    flushed to disk), in a scratch table of the scratch database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (n integer)")
        cursor.execute("INSERT INTO bench_commit VALUES (0)")
        started = time.perf_counter()
        for _ in range(samples):
            cursor.execute("UPDATE bench_commit SET n = n + 1")
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_commit")
    return seconds / samples * 1000


def print_costs(results: dict[str, Result], queries: dict[str, int], commit: float) -> None:
    """What bounds the two ratios on this machine, from this run's own numbers."""
    key_only, direct = results["key-only view"].rate, results["direct GET /me"].rate
    print(f"\nQueries per request: {', '.join(f'{n} {q}' for n, q in queries.items())}")
    print(f"A durable commit here: {commit:.2f} ms (each credentials read commits its audit "
          f"count; one key's reads of one install queue on that event's row: at most "
          f"{1000 / commit:,.0f}/s)")
    print(f"The provider shares the CPU: a proxy costing only the key check would reach "
          f"{key_only / (key_only + direct):.2f} of the direct GET ({1 / key_only * 1000:.2f} "
          f"+ {1 / direct * 1000:.2f} ms of the machine per proxied GET, against "
          f"{1 / direct * 1000:.2f})")


# --- profiling -----------------------------------------------------------------------------


LABELS = {"credentials": "credentials", "proxy": "proxied GET /me", "key-only": "key-only view"}


def spy(bench: Bench, name: str, workdir: Path) -> None:
    """Load one request for --duration while py-spy samples each Hatchway worker (and the
    sandbox's, when the request reaches it through the proxy)."""
    label = LABELS[name]
    bench.load(label, WARM_UP)
    servers = ["hatchway", "sandbox"] if name == "proxy" else ["hatchway"]
    py_spied({server: bench.servers[server] for server in servers},
             lambda: bench.load(label, bench.args.duration), bench.args.duration, workdir,
             label)


def profile(bench: Bench, name: str, requests_count: int) -> None:
    """pyinstrument over one request in process: Django's test client, the same settings."""
    from django.test import Client
    from pyinstrument import Profiler

    target = bench.targets[LABELS[name]]
    client = Client(headers=target.headers)
    for _ in range(50):
        assert client.get(target.path).status_code == 200, target.path
    profiler = Profiler(interval=0.0002)
    with profiler:
        for _ in range(requests_count):
            b"".join(client.get(target.path))
    print(profiler.output_text(unicode=True, color=False, show_all=False, timeline=False))


INSTRUCTIONS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count_child(name: str, count: int) -> None:
    """In the child `instructions` runs: 20 requests of one kind, then N more (the run with
    N = 0 makes the 20 too, so only the N are in the difference)."""
    from django.test import Client

    setup_django()
    path = os.environ["BENCH_COUNT_PATH"]
    client = Client(headers={"Authorization": f"Bearer {os.environ['BENCH_COUNT_KEY']}"})
    for _ in range(20 + count):
        response = client.get(path)
        b"".join(response)
        if response.status_code != 200:
            sys.exit(f"{name}: {path} answered {response.status_code}")


def instructions(bench: Bench, count: int) -> None:
    """Each Hatchway request's instructions: cachegrind over `count_child` with N requests
    and with none; the difference over N."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    per: dict[str, float] = {}
    for name in ("key-only view", "credentials", "proxied GET /me"):
        env = {**bench.env, "DJANGO_SETTINGS_MODULE": SETTINGS,
               "BENCH_COUNT_PATH": bench.targets[name].path, "BENCH_COUNT_KEY": bench.seeded["key"]}
        totals = []
        for n in (0, count):
            run = subprocess.run(
                [valgrind, "--tool=cachegrind", "--cache-sim=no",
                 "--cachegrind-out-file=/dev/null", sys.executable, __file__,
                 "--count-child", name, str(n)],
                env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=1800, check=False)
            found = INSTRUCTIONS.search(run.stderr)
            if run.returncode != 0 or found is None:
                sys.exit(f"{name}: the counting run failed:\n{run.stderr[-2000:]}")
            totals.append(int(found.group(1).replace(",", "")))
        per[name] = (totals[1] - totals[0]) / count
        print(f"{name:<18}{per[name] / 1e6:>8.3f}M instructions a request", flush=True)
    key_only = per["key-only view"]
    print(f"Ratio credentials / key-only view: {per['credentials'] / key_only:.3f} "
          f"(target <= 1.4); proxied GET /me / key-only view: "
          f"{per['proxied GET /me'] / key_only:.3f} (target <= 1.6)")


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.count_child:  # the child `instructions` runs under valgrind
        count_child(args.count_child[0], int(args.count_child[1]))
        return
    config, bench_url = scratch_database()
    workdir = Path(tempfile.mkdtemp(prefix="hatchway-api-bench-"))
    servers: list[Any] = []
    with fresh_database(config, keep=args.keep):
        try:
            ports = {"sandbox": free_port(), "hatchway": free_port()}
            os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS  # this process too (--profile)
            env = bench_environment(
                bench_url, SANDBOX_ENABLED="true", ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
                PUBLIC_URL=f"http://127.0.0.1:{ports['sandbox']}",
                API_RATE_LIMIT="1000000/s")  # the throttle counts, but never refuses, the load
            setup_django()
            print(f"Seeding in {config['NAME']} …", flush=True)
            bench = Bench(args, env, seed(), ports, workdir)
            servers = bench.serve()
            bench.check()
            if args.provider == "static":
                servers.append(bench.replace_provider())
                bench.check()
            if args.profile:
                profile(bench, args.profile, args.requests)
                return
            if args.py_spy:
                spy(bench, args.py_spy, workdir)
                return
            if args.instructions:
                instructions(bench, args.requests)
                return
            from sandbox import services as sandbox

            refreshes_before = sandbox.refresh_count()
            client = "wrk" if bench.use_wrk else "the Python load loop"
            def kind(threads: int) -> str:
                return "sync" if threads == 1 else f"gthread ({threads} threads)"

            provider = ("bench/static_provider.py (one process)" if args.provider == "static"
                        else f"the sandbox {args.sandbox_workers} "
                             f"{kind(args.sandbox_threads)} workers")
            print(f"gunicorn: Hatchway {args.workers} {kind(args.threads)} workers and "
                  f"{provider}; "
                  f"{client}, {args.connections} connections, "
                  f"{args.duration:g} s a request in {ROUNDS} rounds; all on 127.0.0.1", flush=True)
            started = time.monotonic()
            results = bench.run()
            print_results(results)
            print_invariants(bench, refreshes_before)
            bench.meter.print()
            print()
            print_targets(results, bench.meter)
            print_costs(results, queries_per_request(bench), commit_ms())
            print(f"({time.monotonic() - started:.0f} s of load; the machine is shared: compare "
                  "the ratios, not the rates)")
        finally:
            for server in servers:
                stop_server(server)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
