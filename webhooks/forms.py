"""The console form of a webhook endpoint (and the command that creates one)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from connectors.http import LOCAL_HOSTS
from core.forms import ConsoleForm
from webhooks.models import EventType


def validate_endpoint_url(url: str) -> str:
    """An https URL with a host and no user name or password; http://localhost only in
    development or with the sandbox. (Where it resolves is checked at every delivery.)"""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise ValidationError("Enter a valid URL.") from None
    if parts.username or parts.password:
        raise ValidationError("The URL must not contain a user name or password.")
    if not host:
        raise ValidationError("Enter a URL with a host name.")
    local = host in LOCAL_HOSTS or host.endswith(".localhost")
    if parts.scheme == "https" or (parts.scheme == "http" and local
                                   and settings.ALLOW_LOCAL_PROVIDERS):
        return url
    raise ValidationError("The URL must start with https://.")


class EndpointForm(ConsoleForm):
    url = forms.CharField(label="Endpoint URL", max_length=500, strip=True,
                          help_text="Where Hatchway POSTs events. Must be https://.",
                          widget=forms.URLInput(attrs={"spellcheck": "false"}))
    description = forms.CharField(label="Description", max_length=200, required=False,
                                  help_text="Optional. What receives these events.")
    event_types = forms.MultipleChoiceField(
        label="Event types", choices=EventType.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this endpoint. None ticked: all of them, including "
                  "types added later.")
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True,
                                 help_text="Disabled endpoints receive nothing.")

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if creating:  # a new endpoint is enabled
            del self.fields["enabled"]

    def clean_url(self) -> str:
        return validate_endpoint_url(self.cleaned_data["url"])
