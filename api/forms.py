"""The console form that creates an API key."""

from __future__ import annotations

from django import forms

from api.models import SCOPE_HELP, Scope
from core.forms import ConsoleForm


class ApiKeyForm(ConsoleForm):
    name = forms.CharField(label="Name", max_length=100,
                           help_text="Tells keys apart in the list and the audit log, e.g. "
                                     "“Production backend”.")
    scopes = forms.MultipleChoiceField(
        label="Scopes", widget=forms.CheckboxSelectMultiple,
        choices=[(scope.value, f"{scope.label} ({SCOPE_HELP[scope]})") for scope in Scope],
        error_messages={"required": "Choose at least one scope."},
    )
