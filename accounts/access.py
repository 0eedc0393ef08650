"""The one permission helper: every console view loads objects through it.

`partner_view` requires a logged-in member and puts `request.membership` and
`request.partner` on the request; querysets are then scoped with `request.partner`,
so another partner's ids are simply not found (404, existence not leaked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, Protocol, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Account, Membership, Partner, User
from core import request_id

security_log = logging.getLogger("hatchway.security")
#: Set in the session when the login passed a second factor (or two-factor authentication
#: was set up in it): a partner that requires two-factor authentication asks for it.
SECOND_FACTOR_KEY = "second_factor_verified"
#: Set in the session when it was signed in with a partner's single sign-on (the partner's
#: id): the session works in that partner only, whatever other memberships the user has --
#: that partner's identity provider vouched for the user, the others' did not.
SSO_PARTNER_KEY = "sso_partner"
M = TypeVar("M", bound=Model)
M_co = TypeVar("M_co", bound=Model, covariant=True)


class Lookup(Protocol[M_co]):
    """What `find_scoped` looks in: a queryset, or a lookup of the same shape (`api.lookups`)."""

    @property
    def model(self) -> type[M_co]: ...

    def get(self, **lookup: Any) -> M_co: ...


class PartnerRequest(HttpRequest):
    """The request a `partner_view` sees: a logged-in member, with their partner on it."""

    user: User
    membership: Membership
    partner: Partner


def partner_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login and membership required; unsafe methods additionally require the admin role."""

    @login_required
    @wraps(view)
    def wrapper(request: PartnerRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Typed as what it becomes here: login_required let a User through, the two below.
        membership = current_membership(request.user)
        if membership is None:
            raise PermissionDenied("You are not a member of any partner.")
        sso_partner = request.session.get(SSO_PARTNER_KEY)
        if sso_partner is not None and membership.partner_id != sso_partner:
            # The user chose another partner in another session: this one stays in its own.
            membership = _sso_membership(request.user, sso_partner)
        request.membership = membership
        request.partner = membership.partner
        request_id.bind(partner_id=membership.partner_id)
        if membership.partner.require_two_factor and not request.session.get(SECOND_FACTOR_KEY):
            messages.warning(request, f"{membership.partner.name} requires two-factor "
                                      "authentication: set it up to continue.")
            return redirect("teams:security")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not membership.is_admin:
            _refuse_viewer(request, "Viewers cannot change anything.")
        return view(request, *args, **kwargs)

    return wrapper


def _sso_membership(user: User, partner_id: int) -> Membership:
    """The user's membership at the partner a single sign-on session signed in to (403
    once they are no longer a member there)."""
    found = (user.memberships.select_related("partner").defer("partner__logo")
             .filter(partner_id=partner_id).first())
    if found is None:
        raise PermissionDenied("This session signed in with single sign-on to a partner you "
                               "are no longer a member of. Log out and sign in again.")
    return found


def current_membership(user: User) -> Membership | None:
    """The membership the user works in: loaded with the user (accounts.backends, no query),
    or on first use (no partner chosen yet, or it was removed) their first one, remembered."""
    if user.current_membership is not None:
        return user.current_membership
    first = user.memberships.select_related("partner").defer("partner__logo").first()
    if first is not None:
        user.current_membership = first
        User.objects.filter(pk=user.pk).update(current_membership=first)
    return first


def admin_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that exists only to change something (a form, a confirmation): admins only.

    Viewers get the 403 on GET too, so they never fill in a form that would be refused.
    """

    @partner_view
    @wraps(view)
    def wrapper(request: PartnerRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_admin:
            _refuse_viewer(request, "Only admins can make this change.")
        return view(request, *args, **kwargs)

    return wrapper


def _refuse_viewer(request: HttpRequest, reason: str) -> NoReturn:
    security_log.info("viewer %s refused %s %s", request.user.pk, request.method, request.path)
    raise PermissionDenied(reason)


def find_scoped(queryset: Lookup[M], *, who: str, **lookup: Any) -> M | None:
    """One object from an already partner-scoped queryset or lookup (the lookup
    names at most one row: a pk or a unique key), or None, logged as a miss by `who`
    ("user 7", an API key). Another partner's id and one that does not exist are the same
    miss."""
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:  # the base of queryset.model.DoesNotExist
        security_log.info("not found or foreign id for %s: %s %s", who,
                          queryset.model.__name__, lookup)
        return None


def get_scoped(queryset: QuerySet[M], request: HttpRequest, **lookup: Any) -> M:
    """Fetch one object from an already partner-scoped queryset, or 404 (and log it)."""
    found = find_scoped(queryset, who=f"user {request.user.pk}", **lookup)
    if found is None:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.")
    return found


def get_account(request: PartnerRequest, account_id: int) -> Account:
    """One of the partner's accounts (with its partner loaded), or 404."""
    return get_scoped(Account.objects.filter(partner=request.partner).select_related("partner"),
                      request, pk=account_id)
