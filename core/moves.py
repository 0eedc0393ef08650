"""Support for migrations that move a model to another app without touching its table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import migrations


def relabel_content_types(old_app: str, new_app: str,
                          models: Iterable[str]) -> migrations.RunPython:
    """Point the moved models' content types (and so their permissions, admin history and
    any group that holds them) at the new app, and back when unapplied."""
    names = [name.lower() for name in models]

    def move(source: str, target: str) -> Callable[[Any, Any], None]:
        def run(apps: Any, schema_editor: Any) -> None:
            content_types = apps.get_model("contenttypes", "ContentType").objects
            taken = set(content_types.filter(app_label=target, model__in=names)
                        .values_list("model", flat=True))
            content_types.filter(app_label=source, model__in=names).exclude(
                model__in=taken).update(app_label=target)
        return run

    return migrations.RunPython(move(old_app, new_app), move(new_app, old_app), elidable=False)
