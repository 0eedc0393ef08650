#!/usr/bin/env python
"""Benchmark token refresh: W `refresh_tokens` workers, N due installs, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/refresh.py [--installs 1000] [--workers 4] [--server-workers 2]

What it does, all on this machine (the HTTP server listens on 127.0.0.1 only):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it, and seeds N authenticated OAuth 2.0
   installs of "Sandbox (OAuth 2.0)" whose tokens the sandbox issued, all due for refresh,
   then settles the tables as autovacuum would (VACUUM ANALYZE);
2. starts gunicorn on a free loopback port with SANDBOX_ENABLED, playing the provider
   (refresh-token rotation: a reused refresh token is rejected);
3. measures the sandbox token endpoint's own throughput: N direct refresh requests from
   W client threads, no Hatchway in between;
4. runs W worker processes, each one `refresh_tokens` pass, until no install is due;
5. prints refreshes per second, upstream refresh calls (the sandbox's counters and its
   access log), duplicates (upstream calls beyond one per install), lost tokens
   (installs whose stored token the sandbox no longer accepts), the CPU seconds (user +
   sys) the workers spent per refresh, and the ratio of Hatchway's rate to the
   endpoint's own.

Each worker process sets Django up, connects to the database, then reads its own CPU
time (`resource.getrusage`) before and after its pass: start-up (imports, settings,
the connection) is left out of the CPU figure and out of the "within the passes" rate,
which runs from the first pass's start to the last one's end. The sandbox server's CPU
per refresh is printed for both phases too (from /proc: it does the same work either
way, which shows the sandbox is not what differs). `--profile FILE` runs the first worker under
py-spy (only samples holding the GIL: on the CPU in Python), writes the collapsed stacks
to FILE and prints where its pass spent its CPU (slower: measure with it off).

Every wait is bounded (--timeout). Secrets used are generated, bench-only values.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from common import (
    bench_environment,
    free_port,
    fresh_database,
    print_profile,
    process_cpu,
    profiled,
    scratch_database,
    settle,
)

BASE_DIR = Path(__file__).resolve().parent.parent
TOKEN_PATH = "/sandbox/oauth2/token"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--installs", type=int, default=1000, help="due installs (N)")
    parser.add_argument("--workers", type=int, default=4, help="refresh_tokens processes (W)")
    parser.add_argument("--server-workers", type=int, default=2,
                        help="gunicorn worker processes playing the sandbox")
    parser.add_argument("--timeout", type=float, default=900, help="bound on each phase (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", metavar="FILE", type=Path,
                        help="profile the first worker's pass (py-spy), stacks to FILE")
    parser.add_argument("--worker-pass", type=int, metavar="BATCH", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the scratch database and the environment ---------------------------------------------










# --- phases --------------------------------------------------------------------------------


def seed(installs: int) -> dict[str, Any]:
    """Migrate, then seed the installs and as many direct-call token pairs."""
    import django
    from django.core.management import call_command

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    call_command("migrate", verbosity=0)

    from accounts.models import Partner
    from sandbox.models import SandboxToken
    from sandbox.seeding import issue_pair, seed_due_installs
    from sandbox.services import acting_user

    partner = Partner.objects.create(name="Bench", slug=f"bench-{os.urandom(3).hex()}")
    seeded = seed_due_installs(partner, installs)
    user = acting_user()
    direct, rows = [], []
    for _ in range(installs):
        access, refresh, plain = issue_pair(seeded.client, user)
        rows += [access, refresh]
        direct.append(plain["refresh_token"])
    SandboxToken.objects.bulk_create(rows, batch_size=500)
    settle()
    return {"seeded": seeded, "direct": direct}




def start_server(env: dict[str, str], port: int, workers: int, log: Path,
                 timeout: float) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "1",
         "--access-logfile", str(log), "--error-logfile", "-"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + min(timeout, 60)
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/sandbox/api/me", timeout=2)
            return server
        except requests.RequestException:  # not listening yet, or still loading the app
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start")


def direct_refreshes(port: int, client_id: str, client_secret: str, tokens: list[str],
                     threads: int, timeout: float) -> tuple[int, float]:
    """The token endpoint's own rate: refresh requests straight from W client threads."""
    url = f"http://127.0.0.1:{port}{TOKEN_PATH}"

    def call(token: str) -> bool:
        response = requests.post(url, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": token,
            "client_id": client_id, "client_secret": client_secret})
        return response.status_code == 200

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        ok = sum(pool.map(call, tokens, timeout=timeout))
    return ok, time.monotonic() - started


def run_workers(env: dict[str, str], workers: int, batch: int, timeout: float,
                due: Any, profile: Path | None) -> tuple[float, list[dict[str, Any]]]:
    """W worker processes, round after round, until no install is due; what each reported."""
    started, reports = time.monotonic(), []
    deadline = started + timeout
    while due() and time.monotonic() < deadline:
        command = [sys.executable, __file__, "--worker-pass", str(batch)]
        procs = [subprocess.Popen([*(profiled(profile) if profile and n == 0 else []), *command],
                                  cwd=BASE_DIR, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for n in range(workers)]
        for proc in procs:
            out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            lines = [line for line in out.splitlines() if line and not line.startswith("py-spy>")]
            if not lines or not lines[-1].startswith("{"):
                sys.exit(f"a worker failed:\n{out}")
            reports.append({**json.loads(lines[-1]), "lines": lines[:-1]})
        profile = None  # the first round is the one worth profiling
    return time.monotonic() - started, reports








def worker_pass(batch: int) -> None:
    """One `refresh_tokens` pass in this process, timed and measured after start-up.

    Prints the command's lines, then one JSON line: the pass's wall-clock start and end
    (`time.time()`, comparable across processes) and the CPU seconds (user + sys) it used.
    """
    import django
    from django.core.management import call_command
    from django.db import connection

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    connection.ensure_connection()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.time()
    call_command("refresh_tokens", "--batch-size", str(batch))
    end, after = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"start": start, "end": end, "cpu": cpu}), flush=True)




def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """gunicorn's master and its workers."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    return [server.pid, *map(int, children)]


def token_calls(log: Path, since: int = 0) -> tuple[Counter[str], int]:
    """Status counts of token endpoint POSTs in gunicorn's access log after line `since`."""
    lines = log.read_text().splitlines() if log.exists() else []
    statuses = Counter(line.split('" ')[1].split()[0] for line in lines[since:]
                       if f'"POST {TOKEN_PATH} ' in line)
    return statuses, len(lines)


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.worker_pass:
        worker_pass(args.worker_pass)
        return
    config, bench_url = scratch_database()
    server = None
    with fresh_database(config, keep=args.keep):
        try:
            port = free_port()
            env = bench_environment(bench_url, SANDBOX_ENABLED="true",
                                    PUBLIC_URL=f"http://127.0.0.1:{port}",
                                    ALLOWED_HOSTS="127.0.0.1,localhost")
            print(f"Seeding {args.installs} due installs in {config['NAME']} …", flush=True)
            data = seed(args.installs)
            seeded = data["seeded"]
            log = Path(tempfile.mkdtemp(prefix="hatchway-bench-")) / "access.log"
            server = start_server(env, port, args.server_workers, log, args.timeout)
            report(args, env, port, seeded, data["direct"], log, server)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)


def report(args: argparse.Namespace, env: dict[str, str], port: int, seeded: Any,
           direct: list[str], log: Path, server: subprocess.Popen[bytes]) -> None:
    from django.db.models import Count

    from audit.models import AuditEvent
    from installs import refresh
    from installs.models import Install
    from sandbox import services as sandbox
    from sandbox.seeding import accepted_count

    print(f"Direct: {len(direct)} refresh requests to the sandbox from {args.workers} threads …",
          flush=True)
    cpu_before = process_cpu(server_pids(server))
    ok, direct_seconds = direct_refreshes(port, seeded.client.client_id, seeded.client_secret,
                                          direct, args.workers, args.timeout)
    cpu_direct = process_cpu(server_pids(server)) - cpu_before
    direct_rate = ok / direct_seconds
    _, mark = token_calls(log)

    ids = [i.pk for i in seeded.installs]
    before = sandbox.refresh_count()
    due = Install.objects.filter(refresh.due_filter(), pk__in=ids).exists
    print(f"Hatchway: {args.workers} refresh_tokens workers over {len(ids)} installs …",
          flush=True)
    cpu_before = process_cpu(server_pids(server))
    seconds, reports = run_workers(env, args.workers, len(ids), args.timeout, due, args.profile)
    cpu_hatchway = process_cpu(server_pids(server)) - cpu_before

    upstream_ok = sandbox.refresh_count() - before
    calls, _ = token_calls(log, mark)
    statuses = Counter(Install.objects.filter(pk__in=ids).values_list("status", flat=True))
    refreshed = statuses[Install.Status.AUTHENTICATED]
    multiple = (AuditEvent.objects.filter(action="install.refreshed", install_id__in=ids)
                .values("install_id").annotate(n=Count("pk")).filter(n__gt=1).count())
    lost = len(ids) - accepted_count(ids)
    rate = refreshed / seconds
    print()
    for line in (line for r in reports for line in r["lines"]):
        print(f"  worker: {line}")
    print(f"Direct sandbox token endpoint: {ok}/{len(direct)} refreshes in {direct_seconds:.2f} s"
          f" = {direct_rate:.1f}/s")
    print(f"Hatchway workers:              {refreshed}/{len(ids)} refreshed in {seconds:.2f} s"
          f" = {rate:.1f}/s (including process start-up)")
    within = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    print(f"                               {refreshed / within:.1f}/s within the passes"
          f" ({within:.2f} s from the first pass's start to the last one's end)")
    print(f"Worker CPU (user + sys):       {cpu:.2f} s in {len(reports)} passes ="
          f" {1000 * cpu / max(refreshed, 1):.2f} ms per refresh (start-up excluded)")
    print(f"Sandbox server CPU:            {1000 * cpu_direct / max(ok, 1):.2f} ms per direct"
          f" refresh, {1000 * cpu_hatchway / max(refreshed, 1):.2f} ms per refresh through"
          " Hatchway")
    print(f"Upstream refresh calls:        {sum(calls.values())} token requests "
          f"({', '.join(f'{n}× HTTP {s}' for s, n in sorted(calls.items()))}); "
          f"sandbox counted {upstream_ok} refreshes")
    print(f"Duplicates:                    {sum(calls.values()) - refreshed} extra calls, "
          f"{multiple} installs refreshed more than once")
    print(f"Lost tokens:                   {lost}")
    print(f"Statuses:                      {dict(statuses)}")
    print(f"Ratio Hatchway / direct:       {refreshed / within / direct_rate:.2f} within the"
          f" passes, {rate / direct_rate:.2f} including start-up")
    if args.profile:
        print_profile(args.profile)


if __name__ == "__main__":
    main()
