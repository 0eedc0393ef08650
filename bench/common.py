"""What the benchmarks share: the scratch database, the environment, seeding, gunicorn,
the load loops and the CPU meter.

Each benchmark under bench/ is a script of its own: it imports this module and the
project, never another benchmark and never tests/ (tests/test_bench.py checks both).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import environ
import psycopg
import requests

BASE_DIR = Path(__file__).resolve().parent.parent


def bench_environment(bench_url: str, **extra: str) -> dict[str, str]:
    """Production-like settings with bench-only keys, for this process and its children."""
    os.environ.update({
        "DATABASE_URL": bench_url, "DEBUG": "false", "SANDBOX_ENABLED": "false",
        "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-only-secret-key-" + os.urandom(16).hex(),
        "FERNET_KEYS": "bench-only-fernet-key-" + os.urandom(16).hex(),
        **extra,
    })
    return {**os.environ}


def setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed_catalogue(count: int) -> dict[str, Any]:
    """N connectors in 23 categories; a partner, its admin (3 configured) and an account."""
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Account, Membership, Partner, User
    from connectors.models import Catalogue, Category, Connector, PartnerAuthSettings

    call_command("migrate", verbosity=0)
    spec = {"name": "x", "description": "x", "auth": {"type": "none"}, "fields": []}
    categories = [f"Category {i:02d}" for i in range(CATEGORIES)]
    connectors = Connector.objects.bulk_create(
        Connector(slug=f"bench-{i:05d}", name=f"Bench {i:05d}",
                  category_names=[categories[i % CATEGORIES]],
                  description="A benchmark connector with a description of a usual length, "
                              "long enough to be truncated on its card in the library.",
                  auth_type="none", spec_data=spec, search_text=f"bench {i:05d} bench")
        for i in range(count))
    Category.objects.bulk_create(Category(name=name) for name in categories)
    Catalogue.changed()  # as sync_connectors does
    partner = Partner.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user(email="admin@bench.example", password=os.urandom(8).hex())
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.ADMIN)
    for connector in connectors[:3]:
        PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                           saved_at=timezone.now())
    partner.auth_settings_changed()  # as Save Changes does
    account = Account.objects.create(partner=partner, name="Bench account", external_id="b-1")
    settle()
    return {"user": user, "account": account}


CATEGORIES = 23  # as many as the real catalogue has: each is an option of a filter


def scratch_database() -> tuple[dict[str, Any], str]:
    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        sys.exit("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://…")
    name = f"{config['NAME']}_bench"
    user = config.get("USER") or "postgres"
    password = config.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host, port = config.get("HOST") or "127.0.0.1", config.get("PORT") or 5432
    bench_url = f"postgres://{auth}{host}:{port}/{name}"
    return {**config, "NAME": name}, bench_url


def admin_sql(config: dict[str, Any], statement: str) -> None:
    """CREATE/DROP DATABASE, run from the server's maintenance database."""
    with psycopg.connect(dbname="postgres", user=config.get("USER") or "postgres",
                         password=config.get("PASSWORD") or None,
                         host=config.get("HOST") or "127.0.0.1", port=config.get("PORT") or 5432,
                         autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def fresh_database(config: dict[str, Any], *, keep: bool) -> Iterator[None]:
    """A new, empty scratch database for one run, dropped afterwards (unless `keep`)."""
    admin_sql(config, f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
    admin_sql(config, f'CREATE DATABASE "{config["NAME"]}"')
    try:
        yield
    finally:
        if "django" in sys.modules:  # this process's connections, before the DROP
            from django.db import connections

            connections.close_all()
        if not keep:
            admin_sql(config, f'DROP DATABASE IF EXISTS "{config["NAME"]}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settle() -> None:
    """What autovacuum does to a database in use within a minute or so: the planner's
    statistics and the visibility map, so freshly seeded tables are planned as a running
    deployment's would be. (Seeded and claimed at once, the install table has none: the
    claim is then planned for one due row and sorts them all at every claim, 12 ms at
    3,000 due installs against 0.07 ms once analysed.)"""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def py_spy() -> str:
    return shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def profiled(profile: Path) -> list[str]:
    """The py-spy command line a profiled worker runs under (idle threads not sampled)."""
    return [py_spy(), "record", "--format", "raw", "--rate", "500", "--gil", "--nonblocking",
            "-o", str(profile), "--"]


def print_profile(profile: Path, top: int = 25, *, anchor: str = "call_command ",
                  title: str = "the first worker's pass") -> None:
    """Where the profiled work spent its CPU: functions by inclusive and by own samples,
    counting only stacks through the frame that starts with `anchor` (the rest is
    start-up, or the server waiting for a request)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        if not any(f.startswith(anchor) for f in frames):
            continue
        frames = frames[next(i for i, f in enumerate(frames) if f.startswith(anchor)):]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    print(f"\nProfile of {title}: {total} CPU samples ({profile})")
    for heading, counts in (("inclusive", inclusive), ("own", own)):
        print(f"  by {heading} samples:")
        for frame, n in counts.most_common(top):
            print(f"    {100 * n / max(total, 1):5.1f}%  {frame}")


def process_cpu(pids: list[int], *, waited_children: bool = False) -> float:
    """CPU seconds (user + sys) these processes used so far (Linux /proc; 0 elsewhere);
    `waited_children` adds their children's that have exited (PostgreSQL's postmaster
    thus counts the backends that are gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = fields[11:15] if waited_children else fields[11:13]
        total += sum(int(n) for n in ticks) / os.sysconf("SC_CLK_TCK")
    return total


ROUNDS = 3  # each page (and mode) gets a third of --duration in each of 3 rounds


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def start_server(env: dict[str, str], port: int, args: argparse.Namespace,
                 log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
         "--threads", str(args.threads),
         "--access-logfile", str(log), "--error-logfile", "-"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=5).ok:
                return server
        except (requests.ConnectionError, requests.Timeout):  # starting, on a busy machine
            time.sleep(0.2)
        except BaseException:
            stop_server(server)
            raise
    stop_server(server)
    sys.exit("gunicorn did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The processes doing a server's work: a gunicorn's workers, or a server that starts
    none (bench/static_provider.py) itself."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children) or [server.pid]


def postgres_pids() -> list[int]:
    """This machine's PostgreSQL processes (the server's backends included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


class CpuMeter:
    """The CPU each part of the machine spends per request of each kind: the gunicorns'
    workers, PostgreSQL (all its processes) and the load client (wrk, a child process; or
    the Python loop, in this one). On a machine whose parts share 2 cores, it is what a
    ratio of two request rates is made of."""

    def __init__(self, servers: dict[str, subprocess.Popen[bytes]], use_wrk: bool) -> None:
        self.servers, self.use_wrk = servers, use_wrk
        self.used: dict[str, Counter[str]] = defaultdict(Counter)
        self.served: Counter[str] = Counter()

    def now(self) -> dict[str, float]:
        client = resource.getrusage(resource.RUSAGE_CHILDREN if self.use_wrk
                                    else resource.RUSAGE_SELF)
        return {**{name: process_cpu(worker_pids(server))
                   for name, server in self.servers.items()},
                "postgres": process_cpu(postgres_pids(), waited_children=True),
                "client": client.ru_utime + client.ru_stime}

    def measure(self, name: str, load: Callable[[], Result]) -> Result:
        """Run one load of request `name`, adding what it cost to that request's totals."""
        before = self.now()
        result = load()
        for part, seconds in self.now().items():
            self.used[name][part] += seconds - before[part]
        self.served[name] += result.requests
        return result

    def per_request(self, name: str, part: str) -> float:
        """Milliseconds of CPU `part` spent per request `name` so far."""
        return 1000 * self.used[name][part] / max(self.served[name], 1)

    def print(self) -> None:
        parts = [*self.servers, "postgres", "client"]
        print(f"\nCPU per request, ms{'':<8}" + "".join(f"{p:>10}" for p in parts)
              + f"{'all':>10}")
        for name in self.used:
            per = {p: self.per_request(name, p) for p in parts}
            print(f"{name:<26}" + "".join(f"{per[p]:>10.2f}" for p in parts)
                  + f"{sum(per.values()):>10.2f}")


def py_spied(servers: dict[str, subprocess.Popen[bytes]], load: Callable[[], Result],
             seconds: float, workdir: Path, label: str) -> None:
    """Run `load` while py-spy samples every worker of each server, then print where each
    server's workers spent their CPU serving it (samples holding the GIL only: running
    Python, not waiting for the database)."""
    stacks = {name: [(pid, workdir / f"py-spy-{pid}.txt") for pid in worker_pids(server)]
              for name, server in servers.items()}
    spies = [subprocess.Popen([py_spy(), "record", "--format", "raw", "--rate", "500",
                               "--gil", "--nonblocking", "--pid", str(pid), "-o", str(out),
                               "--duration", str(int(seconds) + 1)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for each in stacks.values() for pid, out in each]
    result = load()
    for each in spies:
        each.wait(timeout=60)
    print(f"{label}: {result.rate:.1f} req/s under py-spy (slower than unprofiled)")
    for name, each in stacks.items():
        merged = workdir / f"py-spy-{name}.txt"
        merged.write_text("".join(out.read_text() for _, out in each if out.exists()))
        print_profile(merged, 40, anchor="WSGIHandler.__call__ ",
                      title=f"the {name} workers serving {label}")


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, headers: dict[str, str], duration: float, connections: int) -> Result:
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections),
               "-d", f"{max(1, round(duration))}s", "--latency", "--timeout", "10s", url]
    for name, value in headers.items():
        command[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30,
                         check=True).stdout
    latency = {p: float(v) * UNITS_MS[u] for p, v, u in WRK_LATENCY.findall(out)}
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if done is None or not latency:
        sys.exit(f"could not read wrk's output:\n{out}")
    seconds = float(done[2]) * {"ms": 0.001, "s": 1, "m": 60}[done[3]]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Result(int(done[1]), seconds, latency["50"], latency["99"], errors)


def run_python(url: str, headers: dict[str, str], duration: float, connections: int) -> Result:
    """C threads, each its own HTTP session, until the deadline (or 100,000 requests)."""
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < deadline and len(latencies) < 100_000:
            started = time.perf_counter()
            try:
                ok = session.get(url, headers=headers, timeout=10, allow_redirects=False).ok
            except requests.RequestException:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - started)
                errors[0] += not ok

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 20)
    ms = sorted(s * 1000 for s in latencies)
    p99 = ms[max(0, int(len(ms) * 0.99) - 1)] if ms else 0.0
    return Result(len(ms), time.monotonic() - started, statistics.median(ms) if ms else 0.0,
                  p99, errors[0])


def combined(rounds: list[Result]) -> Result:
    """One page's rounds together: all requests over all seconds, the median of the rounds'
    p50 and the worst of their p99."""
    return Result(sum(r.requests for r in rounds), sum(r.seconds for r in rounds),
                  statistics.median(r.p50_ms for r in rounds), max(r.p99_ms for r in rounds),
                  sum(r.errors for r in rounds))
