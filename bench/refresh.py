#!/usr/bin/env python
"""Benchmark token refresh: W `refresh_tokens` workers, N due installs, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/refresh.py [--installs 1000] [--workers 4] [--server-workers 2]

What it does, all on this machine (the HTTP server listens on 127.0.0.1 only):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it, and seeds N authenticated OAuth 2.0
   installs of "Sandbox (OAuth 2.0)" whose tokens the sandbox issued, all due for refresh;
2. starts gunicorn on a free loopback port with SANDBOX_ENABLED, playing the provider
   (refresh-token rotation: a reused refresh token is rejected);
3. measures the sandbox token endpoint's own throughput: N direct refresh requests from
   W client threads, no Hatchway in between;
4. runs W `manage.py refresh_tokens` processes until no install is due;
5. prints refreshes per second, upstream refresh calls (the sandbox's counters and its
   access log), duplicates (upstream calls beyond one per install), lost tokens
   (installs whose stored token the sandbox no longer accepts), and the ratio of
   Hatchway's rate to the endpoint's own.

Every wait is bounded (--timeout). Secrets used are generated, bench-only values.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import environ
import psycopg
import requests

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
    return parser.parse_args()


# --- the scratch database and the environment ---------------------------------------------


def scratch_database() -> tuple[dict[str, Any], str]:
    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        sys.exit("bench/refresh.py needs PostgreSQL: set DATABASE_URL=postgres://…")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(bench_url: str, port: int) -> dict[str, str]:
    env = {
        "DATABASE_URL": bench_url,
        "SANDBOX_ENABLED": "true",
        "DEBUG": "false",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-only-secret-key-" + os.urandom(16).hex(),
        "FERNET_KEYS": "bench-only-fernet-key-" + os.urandom(16).hex(),
    }
    os.environ.update(env)
    return {**os.environ}


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
    from sandbox.services import acting_user
    from tests.installs.seed import issue_pair, seed_due_installs

    partner = Partner.objects.create(name="Bench", slug=f"bench-{os.urandom(3).hex()}")
    seeded = seed_due_installs(partner, installs)
    user = acting_user()
    direct, rows = [], []
    for _ in range(installs):
        access, refresh, plain = issue_pair(seeded.client, user)
        rows += [access, refresh]
        direct.append(plain["refresh_token"])
    SandboxToken.objects.bulk_create(rows, batch_size=500)
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
        except requests.ConnectionError:
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
                due: Any) -> tuple[float, list[str]]:
    """W refresh_tokens processes, round after round, until no install is due; their lines."""
    started, outputs = time.monotonic(), []
    deadline = started + timeout
    while due() and time.monotonic() < deadline:
        procs = [subprocess.Popen([sys.executable, "manage.py", "refresh_tokens",
                                   "--batch-size", str(batch)], cwd=BASE_DIR, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(workers)]
        for proc in procs:
            out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            outputs += out.strip().splitlines()  # a pass prints a refresh and a revocation line
    return time.monotonic() - started, outputs


def token_calls(log: Path, since: int = 0) -> tuple[Counter[str], int]:
    """Status counts of token endpoint POSTs in gunicorn's access log after line `since`."""
    lines = log.read_text().splitlines() if log.exists() else []
    statuses = Counter(line.split('" ')[1].split()[0] for line in lines[since:]
                       if f'"POST {TOKEN_PATH} ' in line)
    return statuses, len(lines)


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    config, bench_url = scratch_database()
    admin_sql(config, f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
    admin_sql(config, f'CREATE DATABASE "{config["NAME"]}"')
    server = None
    try:
        port = free_port()
        env = bench_environment(bench_url, port)
        print(f"Seeding {args.installs} due installs in {config['NAME']} …", flush=True)
        data = seed(args.installs)
        seeded = data["seeded"]
        log = Path(tempfile.mkdtemp(prefix="hatchway-bench-")) / "access.log"
        server = start_server(env, port, args.server_workers, log, args.timeout)
        report(args, env, port, seeded, data["direct"], log)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(config, f'DROP DATABASE IF EXISTS "{config["NAME"]}"')


def report(args: argparse.Namespace, env: dict[str, str], port: int, seeded: Any,
           direct: list[str], log: Path) -> None:
    from django.db.models import Count

    from audit.models import AuditEvent
    from installs import refresh
    from installs.models import Install
    from sandbox import services as sandbox
    from tests.installs.seed import accepted_count

    print(f"Direct: {len(direct)} refresh requests to the sandbox from {args.workers} threads …",
          flush=True)
    ok, direct_seconds = direct_refreshes(port, seeded.client.client_id, seeded.client_secret,
                                          direct, args.workers, args.timeout)
    direct_rate = ok / direct_seconds
    _, mark = token_calls(log)

    ids = [i.pk for i in seeded.installs]
    before = sandbox.refresh_count()
    due = Install.objects.filter(refresh.due_filter(), pk__in=ids).exists
    print(f"Hatchway: {args.workers} refresh_tokens workers over {len(ids)} installs …",
          flush=True)
    seconds, outputs = run_workers(env, args.workers, len(ids), args.timeout, due)

    upstream_ok = sandbox.refresh_count() - before
    calls, _ = token_calls(log, mark)
    statuses = Counter(Install.objects.filter(pk__in=ids).values_list("status", flat=True))
    refreshed = statuses[Install.Status.AUTHENTICATED]
    multiple = (AuditEvent.objects.filter(action="install.refreshed", install_id__in=ids)
                .values("install_id").annotate(n=Count("pk")).filter(n__gt=1).count())
    lost = len(ids) - accepted_count(ids)
    rate = refreshed / seconds
    print()
    for line in outputs:
        print(f"  worker: {line}")
    print(f"Direct sandbox token endpoint: {ok}/{len(direct)} refreshes in {direct_seconds:.2f} s"
          f" = {direct_rate:.1f}/s")
    print(f"Hatchway workers:              {refreshed}/{len(ids)} refreshed in {seconds:.2f} s"
          f" = {rate:.1f}/s (including process start-up)")
    passes = [float(line.rsplit(" in ", 1)[1].split(" s")[0]) for line in outputs
              if line.startswith("Token refresh pass:")]
    if passes and max(passes) > 0:  # a pass is timed to 0.1 s: a tiny run may show 0.0
        print(f"                               {refreshed / max(passes):.1f}/s within the passes"
              f" (slowest worker's pass {max(passes):.1f} s)")
    print(f"Upstream refresh calls:        {sum(calls.values())} token requests "
          f"({', '.join(f'{n}× HTTP {s}' for s, n in sorted(calls.items()))}); "
          f"sandbox counted {upstream_ok} refreshes")
    print(f"Duplicates:                    {sum(calls.values()) - refreshed} extra calls, "
          f"{multiple} installs refreshed more than once")
    print(f"Lost tokens:                   {lost}")
    print(f"Statuses:                      {dict(statuses)}")
    print(f"Ratio Hatchway / direct:       {rate / direct_rate:.2f}")


if __name__ == "__main__":
    main()
