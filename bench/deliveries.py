#!/usr/bin/env python
"""Benchmark webhook delivery: W `deliver_pass` processes, N due deliveries, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/deliveries.py [--deliveries 2000] [--endpoints 10]
                                             [--workers 2] [--latency 0]

What it does, all on this machine (the receiver listens on 127.0.0.1 only):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it and seeds a partner with E webhook
   endpoints (each with its signing secret) and N events, one pending delivery each, due
   now, spread over the endpoints; then settles the tables as autovacuum would;
2. starts a receiver process playing the partners' endpoints: HTTP/1.1 with keep-alive,
   one thread per connection, answering 204 after --latency milliseconds;
3. runs W worker processes, each one `deliver_pass` (webhooks/delivery.py: claim with
   FOR UPDATE SKIP LOCKED, sign, POST, record) until nothing is due;
4. prints deliveries per second within the passes, the workers' CPU (user + sys) per
   delivery with start-up left out, the receiver's CPU, and what must hold meanwhile:
   every delivery delivered once (the receiver's count against the rows), none failed.

Each worker process sets Django up and connects before it reads its CPU time, as
bench/refresh.py's do. Every wait is bounded (--timeout). Secrets are generated,
bench-only values.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from common import (
    bench_environment,
    free_port,
    fresh_database,
    process_cpu,
    scratch_database,
    settle,
    setup_django,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000, help="due deliveries (N)")
    parser.add_argument("--endpoints", type=int, default=10, help="webhook endpoints (E)")
    parser.add_argument("--workers", type=int, default=2, help="delivery processes (W)")
    parser.add_argument("--latency", type=float, default=0,
                        help="milliseconds each endpoint takes to answer")
    parser.add_argument("--timeout", type=float, default=600, help="bound on the run (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--worker-pass", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the receiver ------------------------------------------------------------------------


def receive(port: int, latency: float) -> None:
    """The partners' endpoints: 204 to every POST (after `latency` ms); the count of POSTs
    received is answered to a GET of /count."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received = [0]
    lock = threading.Lock()

    class Endpoint(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if latency:
                time.sleep(latency / 1000)
            with lock:
                received[0] += 1
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = str(received[0]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Endpoint)
    server.daemon_threads = True
    server.serve_forever()


def start_receiver(port: int, latency: float) -> subprocess.Popen[bytes]:
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port),
                                 "--latency", str(latency)], cwd=BASE_DIR)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/count", timeout=2)
            return receiver
        except requests.RequestException:  # not listening yet
            time.sleep(0.1)
    receiver.terminate()
    sys.exit("the receiver did not start")


def received(port: int) -> int:
    return int(requests.get(f"http://127.0.0.1:{port}/count", timeout=10).text)


# --- seeding and the workers ------------------------------------------------------------


def seed(deliveries: int, endpoints: int, port: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.models import Partner
    from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, new_secret

    now = timezone.now()
    partner = Partner.objects.create(name="Bench", slug=f"bench-{os.urandom(3).hex()}")
    hooks = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(partner=partner, url=f"http://127.0.0.1:{port}/hooks/{n}",
                        event_types=[], secrets={"current": new_secret()})
        for n in range(endpoints))
    body = json.dumps({"type": "install.authenticated", "data": {"install": {"id": 1}}})
    events = WebhookEvent.objects.bulk_create(
        (WebhookEvent(partner=partner, type="install.authenticated", body=body, created_at=now)
         for _ in range(deliveries)), batch_size=1000)
    WebhookDelivery.objects.bulk_create(
        (WebhookDelivery(event=event, endpoint=hooks[n % endpoints], next_attempt_at=now,
                         give_up_at=now + timezone.timedelta(days=3))
         for n, event in enumerate(events)), batch_size=1000)
    settle()


def worker_pass() -> None:
    """One `deliver_pass` in this process, timed and measured after start-up: prints one
    JSON line with the pass's wall-clock start and end and its CPU seconds."""
    setup_django()
    from django.db import connection

    from webhooks.delivery import deliver_pass

    connection.ensure_connection()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.time()
    outcomes = deliver_pass(batch_size=10**9)
    end, after = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"start": start, "end": end, "cpu": cpu, "outcomes": dict(outcomes)}),
          flush=True)


def run_workers(env: dict[str, str], workers: int, timeout: float) -> list[dict[str, Any]]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker-pass"], cwd=BASE_DIR,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(workers)]
    deadline, reports = time.monotonic() + timeout, []
    for proc in procs:
        out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
        lines = out.strip().splitlines()
        if proc.returncode or not lines or not lines[-1].startswith("{"):
            sys.exit(f"a worker failed:\n{out}")
        reports.append(json.loads(lines[-1]))
    return reports


# --- main --------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.receiver:
        receive(args.receiver, args.latency)
        return
    if args.worker_pass:
        worker_pass()
        return
    config, bench_url = scratch_database()
    port = free_port()
    with fresh_database(config, keep=args.keep):
        # SANDBOX_ENABLED lets outbound calls reach 127.0.0.1 (the receiver).
        env = bench_environment(bench_url, SANDBOX_ENABLED="true",
                                PUBLIC_URL="http://127.0.0.1:1", ALLOWED_HOSTS="127.0.0.1")
        setup_django()
        print(f"Seeding {args.deliveries:,} due deliveries to {args.endpoints} endpoints …",
              flush=True)
        seed(args.deliveries, args.endpoints, port)
        receiver = start_receiver(port, args.latency)
        try:
            cpu_before = process_cpu([receiver.pid])
            print(f"{args.workers} delivery processes, endpoints answering after "
                  f"{args.latency:g} ms …", flush=True)
            reports = run_workers(env, args.workers, args.timeout)
            receiver_cpu = process_cpu([receiver.pid]) - cpu_before
            report(args, reports, received(port), receiver_cpu)
        finally:
            receiver.terminate()
            receiver.wait(timeout=30)


def report(args: argparse.Namespace, reports: list[dict[str, Any]], posts: int,
           receiver_cpu: float) -> None:
    from collections import Counter

    from webhooks.models import WebhookDelivery

    statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
    delivered = statuses[WebhookDelivery.Status.DELIVERED]
    within = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    print(f"\nDelivered:        {delivered:,}/{args.deliveries:,} in {within:.2f} s within the "
          f"passes = {delivered / within:.1f}/s ({delivered / within / args.workers:.1f}/s "
          "per process)")
    print(f"Worker CPU:       {cpu:.2f} s = {1000 * cpu / max(delivered, 1):.2f} ms per delivery"
          " (user + sys, start-up excluded)")
    print(f"Receiver CPU:     {1000 * receiver_cpu / max(posts, 1):.2f} ms per POST")
    print(f"Receiver got:     {posts:,} POSTs ({posts - delivered:+,} against the delivered "
          "rows: each delivery is sent once)")
    print(f"Statuses:         {dict(statuses)}")
    print(f"Per pass:         {[r['outcomes'] for r in reports]}")
    if delivered != args.deliveries or posts != delivered:
        sys.exit("not every delivery was delivered exactly once")


if __name__ == "__main__":
    main()
