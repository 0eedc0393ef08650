"""Console forms of the accounts layer: login, account search, new and edited accounts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.models import Account, Partner
from core.forms import MAX_QUERY_LENGTH, ConsoleForm
from core.text import normal_external_id, validate_external_id, validate_name

DUPLICATE_EXTERNAL_ID = "An account with this external id already exists."


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="Email", max_length=254,
                                widget=forms.EmailInput(attrs={"autofocus": True,
                                                               "autocomplete": "email"}))

    def clean_username(self) -> str:
        # Emails are stored lower-case (UserManager.create_user): match that at login.
        username: str = self.cleaned_data["username"]
        return username.lower()


class AccountSearchForm(ConsoleForm):
    """The account list's search: the name or the external id contains the text."""

    q = forms.CharField(label="Search accounts", required=False, max_length=MAX_QUERY_LENGTH,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Name or external id"}))

    def filter(self, accounts: QuerySet[Account]) -> QuerySet[Account]:
        """Apply the search when it is valid; an invalid one (too long, NUL) is ignored."""
        self.is_valid()
        query = self.cleaned_data.get("q", "")
        if query:
            accounts = accounts.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
        return accounts


class AccountForm(forms.ModelForm[Account]):
    """"New account": a customer's name and the partner's own id for it."""

    class Meta:
        model = Account
        fields = ["name", "external_id"]
        labels = {"external_id": "External id"}
        # Said to the partner admin filling the form (the model's text speaks about them).
        help_texts = {"external_id": "Your own id for this customer, e.g. from your CRM or "
                                     "billing system. Unique among your accounts."}

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels as the product names them, no colon
        super().__init__(*args, **kwargs)
        self.partner = partner

    def warn_external_id(self) -> None:
        """On edit: the partner's backend addresses the account by this id (the API)."""
        self.fields["external_id"].help_text = (
            "Your backend finds this account in the API by this id: change it there too, or "
            "calls with the old id get 404. Unique among your accounts.")

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        validate_name(name)
        return name

    def clean_external_id(self) -> str:
        return checked_external_id(self.cleaned_data["external_id"], account=self.instance,
                                   partner_id=self.partner.pk)


def checked_external_id(external_id: str, *, account: Account, partner_id: int) -> str:
    """A form's external id: in NFC and following the rule (core/text.py), unless it is the
    account's own, unchanged; not another account's in any normal form (ValidationError)."""
    if external_id == account.external_id:
        return external_id
    external_id = normal_external_id(external_id)
    validate_external_id(external_id)
    others = Account.objects.filter(partner_id=partner_id).exclude(pk=account.pk)
    if others.same_external_id(external_id).exists():
        raise ValidationError(DUPLICATE_EXTERNAL_ID, code="duplicate")
    return external_id
