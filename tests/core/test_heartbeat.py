"""Worker heartbeats: one row per process, updated each pass, read by `/healthz/ready`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core import heartbeat
from core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_beat_keeps_one_row_per_worker_and_moves_it_forward():
    """Two beats of one worker: one row, seen at the later time."""
    heartbeat.beat("refresh_tokens@host:1")
    first = WorkerHeartbeat.objects.get().seen_at
    heartbeat.beat("refresh_tokens@host:1")
    assert WorkerHeartbeat.objects.get().seen_at >= first
    assert heartbeat.seen_within(timedelta(minutes=5))


def test_heartbeats_of_long_gone_processes_are_deleted():
    """A row untouched for longer than KEEP_DAYS goes with the next beat of any worker."""
    WorkerHeartbeat.objects.create(name="worker@gone:9", seen_at=timezone.now() - timedelta(
        days=heartbeat.KEEP_DAYS + 1))
    heartbeat.beat("worker@here:1")
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == ["worker@here:1"]


def test_an_old_heartbeat_is_not_seen_within_the_window():
    """seen_within is about the window, not the existence of a row."""
    WorkerHeartbeat.objects.create(name="worker@old:1",
                                   seen_at=timezone.now() - timedelta(minutes=6))
    assert not heartbeat.seen_within(timedelta(minutes=5))


def test_each_refresh_tokens_pass_beats():
    """One pass of the command writes its process's heartbeat."""
    call_command("refresh_tokens")
    row = WorkerHeartbeat.objects.get()
    assert row.name == heartbeat.worker_name("refresh_tokens")
    assert row.seen_at > timezone.now() - timedelta(minutes=1)
