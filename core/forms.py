"""The console's base form."""

from __future__ import annotations

from typing import Any

from django import forms

#: Longest search text accepted; longer (or NUL-laden) input is a field error, not a 500.
MAX_QUERY_LENGTH = 200


class ConsoleForm(forms.Form):
    """Labels exactly as the product names them: no trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
