#!/usr/bin/env python
"""Benchmark Hatchway's hot paths as the tables grow: 10k, 100k (and 1M) installs, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway \\
        .venv/bin/python bench/scale.py [--sizes 10000,100000] [--repeat 15] [--explain]

What it does, all in this process (Django's test client, no socket, no gunicorn):

1. creates a scratch database `<name>_bench` next to the one DATABASE_URL names (dropped
   again at the end unless --keep), migrates it and seeds 400 connectors and the partner
   "Bench" with its admin (bench/common.py), two more partners, an API key and 10 webhook
   endpoints;
2. grows the tables to each size in turn (the sizes ascending: each step adds the rows
   the previous one lacks), in SQL on the server (`INSERT … SELECT … generate_series`),
   never a model save per row:
   - one account per 20 installs (a million installs: 50,000 accounts), 90 % of them the
     partner "Bench"'s and 5 % each the two others';
   - installs over the 400 connectors, 95 % authenticated, 3 % refresh failing, 2 %
     needing reauthentication, their tokens expiring over the next 24 hours (about 1 %
     already due); the encrypted columns hold real Fernet ciphertexts, 4 distinct values
     encrypted once and reused;
   - 10 audit events per install over the last 450 days, relayed, and 500 new ones the
     relay has not seen yet;
   - one webhook event and delivery per install over the last 30 days, 98 % delivered,
     1 % pending, 1 % failed;
   then settles the tables as autovacuum would (VACUUM ANALYZE);
3. at each size, times each hot path --repeat times after one warm-up (p50 and p99, in ms)
   and counts its queries; the relay is measured as events relayed per second into the
   10 endpoints, in this process and then 1,000 more in two worker processes at once
   (forked, each claiming with SKIP LOCKED; the run stops unless each event was relayed
   exactly once), the webhook retention as the time to delete what is past
   WEBHOOK_RETENTION_DAYS (batches of 1,000), the audit retention as its first 5 batches
   of 1,000 past AUDIT_RETENTION_DAYS (400), each per 1,000 rows deleted, and
   `sync_connectors` of the real catalogue (connectors/catalog/) as a deploy runs it,
   with nothing changed since the last sync (that first sync, and the re-sync, in a
   transaction rolled back after: the seeded world stays as it was);
4. prints one table: each figure, its query count and its ratio to the smallest size's.
   `--explain` also prints EXPLAIN (ANALYZE, BUFFERS) of each path's slowest SELECT.

The ratio is what matters: a path whose time grows with the tables (OFFSET, COUNT(*),
GROUP BY over everything, a missing index) shows a ratio well above 1; a flat one stays
near 1. `--table-sizes` seeds only, and prints each table's rows and size on disk
(pg_total_relation_size: indexes and TOAST included) at each size instead of timing.
Secrets are generated, bench-only values.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from common import (
    bench_environment,
    fresh_database,
    scratch_database,
    seed_catalogue,
    settle,
    setup_django,
)

# whitenoise warns on every in-process request when collectstatic has not run (as in tests)
warnings.filterwarnings("ignore", "No directory at", UserWarning)
CONNECTORS = 400
INSTALLS_PER_ACCOUNT = 20
AUDIT_PER_INSTALL = 10
ENDPOINTS = 10
UNRELAYED = 500
RELAYED_IN_PARALLEL = 1000
FIRST_ID = 1000  # seeded ids start here, clear of the rows the ORM created
METRICS_TOKEN = "bench-only-metrics-token"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="install counts, comma-separated (1000000 for a million)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each path")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN (ANALYZE, BUFFERS) each path's slowest SELECT")
    parser.add_argument("--table-sizes", action="store_true",
                        help="only seed, and print each table's size on disk at each size")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


# --- seeding -----------------------------------------------------------------------------


@dataclass
class World:
    partners: list[int]  # the big one first
    connectors: list[int]
    endpoints: list[int]
    user: Any
    key: str
    ciphertexts: list[bytes]
    installs: int = 0


def seed_fixed() -> World:
    """What does not grow: the catalogue, the partners, the key, the endpoints."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Partner
    from api.models import Scope
    from api.services import create_key
    from installs.models import Install
    from webhooks.models import WebhookEndpoint

    seeded = seed_catalogue(CONNECTORS)
    big = seeded["account"].partner
    others = [Partner.objects.create(name=f"Small {n}", slug=f"small-{n}") for n in (1, 2)]
    _, key = create_key(partner=big, name="Bench backend", scopes=Scope.values, actor=None)
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(partner=big, url=f"https://hooks{n}.bench.example/in", event_types=[],
                        secrets={"current": "bench-only-secret"}, created_at=timezone.now(),
                        updated_at=timezone.now())
        for n in range(ENDPOINTS))
    field_ = Install._meta.get_field("credentials")
    ciphertexts = [field_.get_db_prep_save({"access_token": f"bench-only-token-{n}"}, connection)
                   for n in range(4)]
    from connectors.models import Connector

    return World(partners=[big.pk, *(p.pk for p in others)],
                 connectors=list(Connector.objects.order_by("pk").values_list("pk", flat=True)),
                 endpoints=[e.pk for e in endpoints], user=seeded["user"], key=key,
                 ciphertexts=[bytes(getattr(c, "obj", c)) for c in ciphertexts])


PARTNER_OF_ACCOUNT = "(CASE WHEN a % 20 = 0 THEN {p2} WHEN a % 20 = 1 THEN {p3} ELSE {p1} END)"

SEED_SQL = [
    ("accounts", """
        INSERT INTO accounts_account (id, name, external_id, created_at, partner_id)
        SELECT {first} + a, 'Account ' || lpad(a::text, 8, '0'), 'ext-' || a,
               now() - (a % 700) * interval '1 day', {partner}
        FROM generate_series(%(a0)s, %(a1)s - 1) AS a"""),
    ("installs", """
        INSERT INTO accounts_install (id, name, status, values, secret_values, credentials,
            expires_at, last_error, refresh_failures, authenticated_at, created_at, updated_at,
            account_id, connector_id, token_info)
        SELECT {first} + i, 'Install ' || i,
               CASE WHEN i % 100 < 95 THEN 'authenticated'
                    WHEN i % 100 < 98 THEN 'refresh_failing' ELSE 'reauth_required' END,
               '{{}}', (%(cipher)s::bytea[])[1 + i % 4], (%(cipher)s::bytea[])[1 + (i + 1) % 4],
               now() + ((i::bigint * 7919) % 86400 - 864) * interval '1 second',
               '', 0, now() - interval '1 day', now() - (i % 700) * interval '1 day', now(),
               {first} + i / 20, (%(connectors)s::bigint[])[1 + (i * 7) % {connectors}], '{{}}'
        FROM generate_series(%(i0)s, %(i1)s - 1) AS i"""),
    ("audit events", """
        INSERT INTO accounts_auditevent (actor_label, action, detail, created_at, account_id,
            connector_id, install_id, partner_id, relayed_at, subject)
        SELECT 'API key Bench backend',
               (ARRAY['install.created', 'install.authenticated', 'install.credentials_read',
                      'install.refreshed', 'install.credentials_read', 'install.verified',
                      'install.credentials_read', 'install.refreshed', 'install.updated',
                      'install.credentials_read'])[1 + e % 10],
               '{{}}', now() - ((e::bigint * 7919) % (450 * 86400)) * interval '1 second',
               {first} + a, (%(connectors)s::bigint[])[1 + (i * 7) % {connectors}], {first} + i,
               {partner}, now(), '{{}}'
        FROM generate_series(%(i0)s * 10, %(i1)s * 10 - 1) AS e,
             LATERAL (SELECT e / 10 AS i) AS x, LATERAL (SELECT x.i / 20 AS a) AS y"""),
    ("webhook events", """
        INSERT INTO webhooks_webhookevent (public_id, type, body, created_at, partner_id)
        SELECT 'evt_bench_' || i, 'install.authenticated', '{{}}',
               now() - ((i::bigint * 7919) % (30 * 86400)) * interval '1 second', %(p1)s
        FROM generate_series(%(i0)s, %(i1)s - 1) AS i"""),
    ("webhook deliveries", """
        INSERT INTO webhooks_webhookdelivery (status, attempts, next_attempt_at, give_up_at,
            last_attempt_at, last_status_code, last_response_ms, last_response_body,
            last_error, delivered_at, created_at, endpoint_id, event_id)
        SELECT CASE WHEN i % 100 < 98 THEN 'delivered' WHEN i % 100 = 98 THEN 'pending'
                    ELSE 'failed' END,
               1, CASE WHEN i % 100 = 98 THEN now() + (i % 3600) * interval '1 second' END,
               now() + interval '3 days', now(), 200, 40, '', '',
               CASE WHEN i % 100 < 98 THEN event.created_at END, event.created_at,
               (%(endpoints)s::bigint[])[1 + i % {endpoints}], event.id
        FROM generate_series(%(i0)s, %(i1)s - 1) AS i
        JOIN webhooks_webhookevent AS event ON event.public_id = 'evt_bench_' || i"""),
]
UNRELAYED_SQL = """
    INSERT INTO accounts_auditevent (actor_label, action, detail, created_at, account_id,
        connector_id, install_id, partner_id, relayed_at, subject)
    SELECT 'API key Bench backend', 'install.created', '{{}}', now(), account_id,
           connector_id, id, %(p1)s, NULL, '{{}}'
    FROM accounts_install WHERE account_id %% 20 > 1 ORDER BY id DESC LIMIT {count}"""
TABLES = ["accounts_account", "accounts_install", "accounts_auditevent",
          "webhooks_webhookevent", "webhooks_webhookdelivery"]


def grow(world: World, installs: int) -> None:
    """Add the rows from `world.installs` up to `installs`, in SQL on the server."""
    from django.db import connection

    i0, i1 = world.installs, installs
    a0, a1 = -(-i0 // INSTALLS_PER_ACCOUNT), -(-i1 // INSTALLS_PER_ACCOUNT)
    p1, p2, p3 = world.partners
    params = {"i0": i0, "i1": i1, "a0": a0, "a1": a1, "p1": p1, "p2": p2, "p3": p3,
              "cipher": world.ciphertexts, "connectors": world.connectors,
              "endpoints": world.endpoints}
    partner = PARTNER_OF_ACCOUNT.format(p1=p1, p2=p2, p3=p3)
    with connection.cursor() as cursor:
        for what, sql in SEED_SQL:
            started = time.monotonic()
            statement = sql.format(first=FIRST_ID, partner=partner,
                                   connectors=len(world.connectors),
                                   endpoints=len(world.endpoints))
            cursor.execute(statement.replace(" % ", " %% "), params)
            print(f"  {what}: {cursor.rowcount:,} rows in {time.monotonic() - started:.1f} s",
                  flush=True)
        for table in TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        cursor.execute(UNRELAYED_SQL.format(count=UNRELAYED), {"p1": p1})
    world.installs = installs
    settle()


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Figure:
    p50: float
    p99: float
    queries: int
    unit: str = "ms"
    errors: int = 0
    slowest: str = field(default="", repr=False)


def timed(run: Callable[[], Any], repeat: int, ok: Callable[[Any], bool] = lambda r: True
          ) -> Figure:
    """One warm-up, then `repeat` timed runs; the queries of the last run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run()
    times, errors = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = run()
            times.append(1000 * (time.perf_counter() - started))
        errors += not ok(result)
    times.sort()
    selects = [q for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    slowest = max(selects, key=lambda q: float(q["time"]))["sql"] if selects else ""
    return Figure(statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)],
                  len(captured.captured_queries), errors=errors, slowest=slowest)


def get(client: Any, url: str, **headers: str) -> Callable[[], Any]:
    return lambda: client.get(url, headers=headers)


def answered(response: Any) -> bool:
    return int(response.status_code) < 400


OK: dict[str, Callable[[Any], bool]] = {
    "refresh claim": lambda claimed: claimed is not None,
    # no worker has sent a heartbeat to this scratch database: "not ready", still measured
    "GET /healthz/ready": lambda response: response.status_code in (200, 503),
}


def paths(world: World) -> dict[str, Callable[[], Any]]:
    """Each hot path, as a callable doing it once (in the partner "Bench")."""
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Account
    from installs.models import Install
    from installs.refresh import _claimable

    console, api = Client(), Client(headers={"Authorization": f"Bearer {world.key}"})
    console.force_login(world.user)
    big = world.partners[0]
    account = Account.objects.filter(partner_id=big, installs__isnull=False).order_by("pk")[0]
    install = (Install.objects.filter(account=account, status="authenticated")
               .order_by("-expires_at")[0])
    first_api = api.get("/api/v1/accounts?limit=50").json()
    since = (timezone.now() - timedelta(days=30)).isoformat()

    def claim() -> Any:
        with transaction.atomic():
            claimed = _claimable(timezone.now()).for_update(skip_locked=True,
                                                            partner=False).first()
            transaction.set_rollback(True)
        return claimed

    return {
        "refresh claim": claim,
        "GET /metrics": get(console, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}"),
        "GET /healthz/ready": get(console, "/healthz/ready"),
        "API accounts, first page": get(api, "/api/v1/accounts?limit=50"),
        "API accounts, next page": get(api, first_api["next"] or "/api/v1/accounts?limit=50"),
        "API an account's installs": get(api, f"/api/v1/accounts/{account.external_id}/installs"),
        "API events ?install=": get(api, f"/api/v1/events?install={install.pk}"),
        "API events ?account= &since=": get(
            api, f"/api/v1/events?account={account.external_id}&since={since}".replace("+", "%2B")),
        "API credentials read": get(api, f"/api/v1/installs/{install.pk}/credentials"),
        "console accounts, first page": get(console, "/accounts/"),
        "console accounts, deep page": get(console, deep_accounts_page(console, big)),
        "console an account (20 installs)": get(console, f"/accounts/{account.pk}/"),
        "console needs attention": get(console, "/accounts/needs-attention/"),
        "console webhook deliveries": get(console, f"/webhooks/{world.endpoints[0]}/"),
    }


def deep_accounts_page(console: Any, partner_id: int) -> str:
    """The console's accounts list halfway through: `?page=` when the list pages by
    number, else the keyset link to the page after the middle account."""
    from accounts.models import Account

    accounts = Account.objects.filter(partner_id=partner_id).order_by("name", "pk")
    middle = accounts[accounts.count() // 2]
    response = console.get("/accounts/")
    if response.status_code != 200:
        sys.exit(f"the console's accounts list answered {response.status_code} "
                 f"{response.get('Location')}")
    if "?page=" in response.content.decode():
        return f"/accounts/?page={accounts.count() // 2 // 25 + 1}"
    from installs.views import accounts_after  # the keyset link the console hands out

    return f"/accounts/?{accounts_after(middle)}"


def relay_rate() -> Figure:
    """Relay the events the relay has not seen yet: events per second into the endpoints."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks.relay import relay_pass

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        done = sum(relay_pass(batch_size=UNRELAYED).values())
        seconds = time.perf_counter() - started
    rate = done / seconds if seconds else 0.0
    return Figure(rate, rate, len(captured.captured_queries) // max(done, 1), unit="ev/s")


def _relay_in_child(done: Any) -> None:
    """One relay worker process (forked with the parent's settings, its own connection)."""
    from webhooks.relay import relay_pass

    done.put(sum(relay_pass(batch_size=RELAYED_IN_PARALLEL).values()))


def relay_rate_parallel(world: World, processes: int) -> Figure:
    """RELAYED_IN_PARALLEL new events (and any the paths above wrote) relayed by
    `processes` worker processes at once, each claiming with SKIP LOCKED as the webhook
    workers do: events per second in all. Exits unless every event was taken exactly once
    (the processes' counts add up to the events there were, and none is left)."""
    import multiprocessing

    from django.db import connection, connections

    unrelayed = "SELECT count(*) FROM accounts_auditevent WHERE relayed_at IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(UNRELAYED_SQL.format(count=RELAYED_IN_PARALLEL), {"p1": world.partners[0]})
        cursor.execute(unrelayed)
        (waiting,) = cursor.fetchone()
    connections.close_all()  # each child opens its own
    fork = multiprocessing.get_context("fork")
    done = fork.Queue()
    children = [fork.Process(target=_relay_in_child, args=(done,)) for _ in range(processes)]
    started = time.perf_counter()
    for child in children:
        child.start()
    relayed = [done.get(timeout=600) for _ in children]
    seconds = time.perf_counter() - started
    for child in children:
        child.join(timeout=60)
    with connection.cursor() as cursor:
        cursor.execute(unrelayed)
        (left,) = cursor.fetchone()
    if sum(relayed) != waiting or left:
        sys.exit(f"{processes} relay processes took {relayed} of {waiting} events; {left} left")
    rate = waiting / seconds
    return Figure(rate, rate, 0, unit="ev/s")


def retention() -> Figure:
    """The webhook retention pass (what is older than WEBHOOK_RETENTION_DAYS: about 1/30
    of the seeded events at a 29-day retention), in batches."""
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from webhooks.delivery import prune

    with override_settings(WEBHOOK_RETENTION_DAYS=29), CaptureQueriesContext(connection) as c:
        started = time.perf_counter()
        deleted = prune()
        ms = 1000 * (time.perf_counter() - started)
    per_thousand = ms / (deleted / 1000) if deleted else 0.0
    return Figure(per_thousand, per_thousand, len(c.captured_queries), unit="ms/1k")


def audit_retention() -> Figure:
    """Audit retention's batches of 1,000 (AUDIT_RETENTION_DAYS=400: the seeded events span
    450 days): the first 5 batches, in ms per 1,000 events deleted. Skipped (0) where the
    project has none yet."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        from webhooks.retention import prune_audit
    except ImportError:
        return Figure(0.0, 0.0, 0)
    batches = []

    def five_done() -> bool:
        batches.append(None)
        return len(batches) > 5

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        deleted = prune_audit(batch_size=1000, should_stop=five_done)
        ms = 1000 * (time.perf_counter() - started)
    per_thousand = ms / (deleted / 1000) if deleted else 0.0
    return Figure(per_thousand, per_thousand, len(captured.captured_queries), unit="ms/1k")


def catalogue_sync() -> Figure:
    """`sync_connectors` of the real catalogue with nothing changed (every file read and
    validated, every row compared), after a first sync that added it; both rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from connectors.sync import sync_catalog

    with transaction.atomic():
        sync_catalog()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = sync_catalog()
            ms = 1000 * (time.perf_counter() - started)
        transaction.set_rollback(True)
    if result.added or result.updated or result.retired:
        sys.exit("the catalogue's re-sync changed rows: it is not the deploy's no-op")
    return Figure(ms, ms, len(captured.captured_queries))


def explain(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        for (line,) in cursor.fetchall():
            print(f"      {line}")


def measure(world: World, repeat: int, *, show_plans: bool) -> dict[str, Figure]:
    figures = {}
    for name, run in paths(world).items():
        figures[name] = timed(run, repeat, ok=OK.get(name, answered))
        if show_plans and figures[name].slowest:
            print(f"    {name}: {figures[name].p50:.2f} ms, slowest SELECT:")
            explain(figures[name].slowest)
    figures["relay (events/s)"] = relay_rate()
    figures["relay, 2 processes (events/s)"] = relay_rate_parallel(world, 2)
    figures["webhook retention (ms per 1k)"] = retention()
    figures["audit retention (ms per 1k)"] = audit_retention()
    figures["sync_connectors, unchanged (ms)"] = catalogue_sync()
    return figures


def print_table(sizes: list[int], results: dict[int, dict[str, Figure]]) -> None:
    base = results[sizes[0]]
    head = "".join(f"{f'{n:,} p50':>13}{'p99':>8}{'q':>4}{'×':>6}" for n in sizes)
    print(f"\n{'path':<34}{head}")
    for name in base:
        row = ""
        for n in sizes:
            f = results[n][name]
            ratio = f.p50 / base[name].p50 if base[name].p50 else 0.0
            flag = "!" if f.errors else ""
            row += f"{f.p50:>13.2f}{f.p99:>8.2f}{f.queries:>4}{ratio:>5.2f}{flag:1}"
        print(f"{name:<34}{row}")
    print("(ms unless named; q: queries per run; ×: p50 against the first size; "
          "!: a run answered an error)")


def table_sizes() -> dict[str, tuple[int, int]]:
    """Each of the project's tables that holds rows: (rows, bytes on disk, indexes and
    TOAST included: pg_total_relation_size), after VACUUM ANALYZE (rows: the estimate)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
                       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relkind = 'r' AND n.nspname = 'public' "
                       "ORDER BY pg_total_relation_size(c.oid) DESC")
        return {name: (max(rows, 0), size) for name, rows, size in cursor.fetchall()}


def print_table_sizes(sizes: list[int], found: dict[int, dict[str, tuple[int, int]]]) -> None:
    """The tables of 1 MB or more at the largest size, each size's rows and MB."""
    last = found[sizes[-1]]
    head = "".join(f"{f'{n:,} rows':>16}{'MB':>9}" for n in sizes)
    print(f"\n{'table':<32}{head}")
    for name, (_, size) in last.items():
        if size < 2**20:
            continue
        row = "".join(f"{found[n].get(name, (0, 0))[0]:>16,}"
                      f"{found[n].get(name, (0, 0))[1] / 2**20:>9.1f}" for n in sizes)
        print(f"{name:<32}{row}")
    totals = "".join(f"{'':>16}{sum(s for _, s in found[n].values()) / 2**20:>9.1f}"
                     for n in sizes)
    print(f"{'all tables':<32}{totals}")


def main() -> None:
    args = parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    config, bench_url = scratch_database()
    with fresh_database(config, keep=args.keep):
        bench_environment(bench_url, ALLOWED_HOSTS="testserver", METRICS_TOKEN=METRICS_TOKEN,
                          PUBLIC_URL="http://testserver")
        setup_django()
        for noisy in ("django.request", "health_check"):  # "not ready" (no worker) each time
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        world = seed_fixed()
        results, on_disk = {}, {}
        for size in sizes:
            print(f"Seeding up to {size:,} installs …", flush=True)
            started = time.monotonic()
            grow(world, size)
            print(f"  seeded and settled in {time.monotonic() - started:.1f} s", flush=True)
            if args.table_sizes:
                on_disk[size] = table_sizes()
            else:
                results[size] = measure(world, args.repeat, show_plans=args.explain)
        if args.table_sizes:
            print_table_sizes(sizes, on_disk)
        else:
            print_table(sizes, results)


if __name__ == "__main__":
    sys.exit(main())
