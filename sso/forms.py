"""Forms of single sign-on: the admin's "Single sign-on" settings and the login page's
"Sign in with SSO"."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.forms import ConsoleForm
from teams.models import SingleSignOn

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SECRET_FIELD = "client_secret"


class SettingsForm(forms.ModelForm[SingleSignOn]):
    """The partner's identity provider. The client secret is never shown again: left
    empty, the saved one is kept."""

    issuer = forms.URLField(label="Issuer URL", max_length=300, assume_scheme="https")
    client_secret = forms.CharField(
        label="Client Secret", required=False, strip=True, max_length=2000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False))
    allowed_domains = forms.CharField(
        label="Allowed email domains", required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. acme.com. Users whose verified email is in one of "
                  "them sign in here; a domain belongs to one partner only.")

    class Meta:
        model = SingleSignOn
        fields = ["enabled", "issuer", "client_id", "client_secret", "allowed_domains",
                  "default_role", "require_sso"]
        labels = {"default_role": "Role for new members"}
        help_texts = {
            "issuer": "The identity provider's issuer; its endpoints are found at "
                      "<issuer>/.well-known/openid-configuration when you save.",
            "default_role": "Users signing in for the first time become members with this "
                            "role (just-in-time).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["allowed_domains"].initial = "\n".join(self.instance.domain_list)
            if self.instance.client_secret:
                self.fields[SECRET_FIELD].help_text = "Saved. Leave empty to keep it."

    def clean_issuer(self) -> str:
        issuer: str = self.cleaned_data["issuer"]
        return issuer.rstrip("/")

    def clean_allowed_domains(self) -> list[str]:
        raw: str = self.cleaned_data["allowed_domains"]
        domains = sorted({d.strip().lower().lstrip("@").rstrip(".")
                          for d in re.split(r"[\s,]+", raw) if d.strip()})
        bad = [d for d in domains if not DOMAIN.match(d)]
        if bad:
            raise ValidationError(f"Not a domain: {', '.join(bad[:5])}.", code="domain")
        return domains

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        secret = data.get(SECRET_FIELD) or self.instance.client_secret
        if data.get("enabled") and not secret:
            self.add_error(SECRET_FIELD, "Enter the client secret.")
        if data.get("enabled") and not data.get("allowed_domains"):
            self.add_error("allowed_domains", "Enter at least one domain.")
        if data.get("require_sso") and not data.get("enabled"):
            self.add_error("require_sso", "Allow sign-in with SSO before requiring it.")
        return data

    def changed_fields(self) -> list[str]:
        """Names of the fields changed (the secret only when a new one was entered)."""
        return [name for name in self.changed_data
                if name != SECRET_FIELD or self.cleaned_data.get(SECRET_FIELD)]

    def apply_secret(self) -> None:
        secret = self.cleaned_data.get(SECRET_FIELD)
        if secret:
            self.instance.secrets = {"client_secret": secret}


class StartForm(ConsoleForm):
    """"Sign in with SSO": the work email, whose domain finds the partner."""

    email = forms.EmailField(label="Work email", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                            "autofocus": True}))
