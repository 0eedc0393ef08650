"""Forms of the Members page, the invitation's acceptance and the partner switcher."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import Membership, Partner, User
from core.forms import ConsoleForm
from core.text import validate_name
from teams.models import Invitation


class InviteForm(ConsoleForm):
    """"Invite member": an Email and a Role."""

    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices,
                             initial=Membership.Role.VIEWER)

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.partner = partner

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if Membership.objects.filter(partner=self.partner, user__email__iexact=email).exists():
            raise ValidationError("This person is already a member.", code="member")
        pending = Invitation.objects.filter(partner=self.partner, email__iexact=email,
                                            accepted_at=None, revoked_at=None)
        if any(invitation.is_pending for invitation in pending):
            raise ValidationError("This person already has an open invitation: resend it "
                                  "from the list below.", code="invited")
        return email


class RoleForm(ConsoleForm):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)


class NewMemberForm(ConsoleForm):
    """Accepting an invitation without an account: a name and a password (Django's
    validators, checked against the invited email and the name too)."""

    name = forms.CharField(label="Name", max_length=150)
    password1 = forms.CharField(label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password (again)", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        validate_name(name)
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password1")
        if password and password != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif password:
            try:
                validate_password(password, User(email=self.email,
                                                 first_name=data.get("name", "")))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def create_user(self) -> User:
        return User.objects.create_user(email=self.email, password=self.cleaned_data["password1"],
                                        first_name=self.cleaned_data["name"])


class ExistingUserForm(ConsoleForm):
    """Accepting an invitation as the user who has that email: their password (counted by
    the login throttling like any login)."""

    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete":
                                                                 "current-password"}))

    def __init__(self, *args: Any, request: HttpRequest, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request, self.email = request, email
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password"):
            user = authenticate(self.request, username=self.email, password=data["password"])
            if not isinstance(user, User):
                raise ValidationError("That password is not right for this email.",
                                      code="invalid_login")
            self.user = user
        return data
