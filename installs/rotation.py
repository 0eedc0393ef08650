"""Re-encrypting every stored secret under the first key of FERNET_KEYS.

Values are rotated ciphertext to ciphertext (`MultiFernet.rotate`): the raw bytes are
read without the model field's decryption and written back with a conditional UPDATE
(`… WHERE pk = %s AND column = <the bytes read>`). A row changed in between — a token
refresh committing new credentials — matches nothing; it is read again and rotated
again, so a concurrent write is never overwritten. (On PostgreSQL the UPDATE also waits
for a refresh worker's row lock, then re-checks the condition against the committed row.)

A value no configured key decrypts is reported and left exactly as it is; an install
holding one is marked "Reauthentication required".
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.db import models, transaction
from django.db.models import BinaryField, ExpressionWrapper, F, Value
from fernet_fields import EncryptedField

from accounts.models import Partner
from audit import events as audit
from core.fields import first_fernet, rotate_ciphertext
from installs.models import Install
from installs.refresh import UNREADABLE_MESSAGE

log = logging.getLogger("hatchway.security")

MAX_ATTEMPTS = 5  # a row rewritten this often while we rotate it is reported, not forced

# Called after each batch: (column, rows read so far, rows in the table, counts so far).
ProgressCallback = Callable[[str, int, int, str], None]


def _no_progress(column: str, done: int, total: int, detail: str) -> None:
    pass


@dataclass(frozen=True)
class Location:
    """Where a value lives: never the value itself."""

    model: str
    pk: Any
    field: str

    def __str__(self) -> str:
        return f"{self.model} pk={self.pk} field={self.field}"


@dataclass
class Report:
    rotated: Counter[str] = field(default_factory=Counter)  # "app.Model.field" -> rows
    retried: Counter[str] = field(default_factory=Counter)
    unreadable: list[Location] = field(default_factory=list)
    busy: list[Location] = field(default_factory=list)
    stale: Counter[str] = field(default_factory=Counter)  # --check: not under the first key
    partner_rows: Counter[int] = field(default_factory=Counter)  # partner id -> rows rotated
    reauth_marked: list[Location] = field(default_factory=list)  # installs sent to reauth
    values_read: int = 0


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedField]]:
    """Every encrypted column of every installed model (sandbox included when installed)."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedField):
                yield model, model_field


def label(model: type[models.Model], model_field: models.Field[Any, Any]) -> str:
    return f"{model._meta.label}.{model_field.name}"


def _raw(model_field: models.Field[Any, Any]) -> ExpressionWrapper[F]:
    # The column as plain bytes: the encrypted field's own decryption never runs.
    return ExpressionWrapper(F(model_field.attname), output_field=BinaryField())


def rotate_all(*, batch_size: int = 500, progress: ProgressCallback = _no_progress) -> Report:
    report = Report()
    for model, model_field in encrypted_fields():
        rotate_field(model, model_field, batch_size=batch_size, report=report, progress=progress)
    return report


def rotate_field(model: type[models.Model], model_field: models.Field[Any, Any], *, batch_size: int,
                 report: Report, progress: ProgressCallback = _no_progress) -> None:
    """Rotate one column, `batch_size` rows per read, walking the primary key.

    Values already under the first key are left alone, so running it again is cheap.
    """
    first = first_fernet()
    column = label(model, model_field)
    for done, total, batch in _counted_batches(model, model_field, batch_size, report):
        stale = [(pk, ciphertext) for pk, ciphertext in batch
                 if ciphertext is not None and not _decrypts(first, ciphertext)]
        rotated = [pk for pk, ciphertext in stale
                   if _rotate_row(model, model_field, pk, ciphertext, report)]
        report.rotated[column] += len(rotated)
        _count_partners(model, rotated, report)
        progress(column, done, total, f"{report.rotated[column]:,} rotated")


def check_all(*, batch_size: int = 500, progress: ProgressCallback = _no_progress) -> Report:
    """Count values not (yet) encrypted under the first key, and unreadable ones. No writes."""
    report = Report()
    first = first_fernet()
    for model, model_field in encrypted_fields():
        column = label(model, model_field)
        for done, total, batch in _counted_batches(model, model_field, batch_size, report):
            for pk, ciphertext in batch:
                if ciphertext is None or _decrypts(first, ciphertext):
                    continue
                try:
                    rotate_ciphertext(ciphertext)
                except InvalidToken:
                    report.unreadable.append(Location(model._meta.label, pk, model_field.name))
                else:
                    report.stale[column] += 1
            progress(column, done, total, f"{report.stale[column]:,} under an old key")
    return report


def _decrypts(fernet: Fernet, ciphertext: bytes) -> bool:
    try:
        fernet.decrypt(ciphertext)
    except InvalidToken:
        return False
    return True


def _counted_batches(model: type[models.Model], model_field: models.Field[Any, Any],
                     batch_size: int, report: Report
                     ) -> Iterator[tuple[int, int, list[tuple[Any, bytes | None]]]]:
    """Each batch with the rows read so far and the table's row count (for progress)."""
    total, done = model._base_manager.count(), 0
    for batch in _batches(model, model_field, batch_size):
        done += len(batch)
        report.values_read += len(batch)
        # Rows inserted meanwhile can take `done` past the count taken at the start.
        yield done, max(total, done), batch


def _batches(model: type[models.Model], model_field: models.Field[Any, Any],
             batch_size: int) -> Iterator[list[tuple[Any, bytes | None]]]:
    manager = model._base_manager
    last_pk = None
    while True:
        queryset = manager.order_by("pk").annotate(_ciphertext=_raw(model_field))
        if last_pk is not None:
            queryset = queryset.filter(pk__gt=last_pk)
        rows = [(pk, None if raw is None else bytes(raw))
                for pk, raw in queryset.values_list("pk", "_ciphertext")[:batch_size]]
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


def _rotate_row(model: type[models.Model], model_field: models.Field[Any, Any], pk: Any,
                ciphertext: bytes | None, report: Report) -> bool:
    """Rotate one value with a conditional update; True when a new ciphertext was written."""
    where = model._base_manager.filter(pk=pk).annotate(_ciphertext=_raw(model_field))
    for attempt in range(MAX_ATTEMPTS):
        if ciphertext is None:
            return False
        try:
            rotated = rotate_ciphertext(ciphertext)
        except InvalidToken:
            _unreadable(model, model_field, pk, ciphertext, report)
            return False
        written = where.filter(_ciphertext=ciphertext).update(
            **{model_field.attname: Value(rotated, output_field=BinaryField())}
        )
        if written:
            return True
        # Someone wrote this row after we read it: rotate what is there now.
        if attempt == 0:
            report.retried[label(model, model_field)] += 1
        current = where.values_list("_ciphertext", flat=True).first()
        if current is None and not where.exists():
            return False  # deleted meanwhile: nothing to rotate
        ciphertext = None if current is None else bytes(current)
    report.busy.append(Location(model._meta.label, pk, model_field.name))
    return False


def _unreadable(model: type[models.Model], model_field: models.Field[Any, Any], pk: Any,
                ciphertext: bytes, report: Report) -> None:
    """Report the location (never the value) and send a person to re-enter credentials."""
    location = Location(model._meta.label, pk, model_field.name)
    report.unreadable.append(location)
    log.warning("rotate_keys: no configured key decrypts %s", location)
    if model is Install and _mark_install_reauth(pk, model_field,
                                                                         ciphertext):
        report.reauth_marked.append(location)


def _mark_install_reauth(install_id: Any, model_field: models.Field[Any, Any],
                         ciphertext: bytes) -> bool:
    """Send the install to "Reauthentication required" -- unless its credentials were
    entered again meanwhile (the ciphertext changed) or nobody uses them any more."""
    with transaction.atomic():
        install = (
            Install.objects.for_update().annotate(_ciphertext=_raw(model_field))
            .filter(pk=install_id, _ciphertext=ciphertext)
            .exclude(status__in=[Install.Status.REAUTH_REQUIRED, Install.Status.DEAUTHENTICATED])
            .first()
        )
        if install is None:
            return False
        install.mark_unreadable(error=UNREADABLE_MESSAGE, actor_label="rotate_keys",
                                field=model_field.name)
    return True


# --- audit: one "keys.rotated" event per partner whose rows were rotated ---------------

_PARTNER_PATHS = {"partner": "partner_id", "account": "account__partner_id",
                  "install": "install__account__partner_id"}


def _partner_path(model: type[models.Model]) -> str | None:
    if model is Partner:
        return "pk"
    names = {f.name for f in model._meta.concrete_fields}
    return next((path for name, path in _PARTNER_PATHS.items() if name in names), None)


def _count_partners(model: type[models.Model], pks: list[Any], report: Report) -> None:
    path = _partner_path(model)
    if not pks or path is None:
        return
    for partner_id in model._base_manager.filter(pk__in=pks).values_list(path, flat=True):
        if partner_id is not None:
            report.partner_rows[partner_id] += 1


def record_rotation(report: Report) -> None:
    for partner in Partner.objects.filter(pk__in=report.partner_rows):
        audit.record(audit.Action.KEYS_ROTATED, partner=partner, actor_label="rotate_keys",
                     values=report.partner_rows[partner.pk])
