"""Console views for accounts, their installs and "Needs attention".

Thin views: load through `partner_view` + `get_scoped` (another partner's ids are a
404), bind a form, call a service, redirect with a message. Every change is a POST
with CSRF; `partner_view` refuses it to viewers (403).
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from accounts.access import PartnerRequest, admin_view, get_account, get_scoped, partner_view
from accounts.forms import DUPLICATE_EXTERNAL_ID, AccountForm, AccountSearchForm
from accounts.models import Account
from audit.models import AuditEvent
from connectors.auth.base import AuthError
from connectors.cards import CARD_COLUMNS, render_cards
from connectors.forms import ConnectorSearchForm
from connectors.models import Connector
from core.confirm import Confirmation, confirm_page
from core.keyset import InvalidCursor, keyset_page
from core.paging import CappedPaginator, page_of
from core.sessions import session_hash
from installs.accounts import DuplicateExternalId, create_account, delete_account, update_account
from installs.attention import (
    AttentionRows,
    attention_counts,
    attention_filters,
    attention_numbers,
    needing_attention,
)
from installs.forms import InstallForm, InstallScopesForm
from installs.installing import create_install, update_install_values
from installs.models import Install, Revocation
from installs.removal import deauthenticate, delete_install
from installs.signin import create_authenticated_install, start_authentication
from installs.values import MissingValues, SavedSettings, Setup, asked_fields
from installs.verification import check_connection

PAGE_SIZE = 25
CONNECTOR_PAGE_SIZE = 30
ATTENTION_PAGE_SIZE = 50
AUDIT_ROWS = 20


# --- accounts ----------------------------------------------------------------------------


@partner_view
def account_list(request: PartnerRequest) -> HttpResponse:
    """Accounts, searchable by name or external id, by name in keyset pages (core/keyset.py):
    the same few queries on the first page and the thousandth. A page link the list never
    handed out is a 400 showing the first page."""
    form = AccountSearchForm(request.GET)
    installs = (Install.objects.filter(account=OuterRef("pk")).order_by()
                .values("account").annotate(n=Count("pk")).values("n"))
    accounts = form.filter(Account.objects.filter(partner=request.partner)).annotate(
        install_count=Coalesce(Subquery(installs), 0))
    status = 200
    try:
        page = keyset_page(accounts, key="name", per_page=PAGE_SIZE,
                           after=request.GET.get("after"), before=request.GET.get("before"))
    except InvalidCursor as refusal:
        messages.error(request, str(refusal))
        page, status = keyset_page(accounts, key="name", per_page=PAGE_SIZE), 400
    return render(request, "accounts/account_list.html", {
        "page": page, "form": form, "query": form.cleaned_data.get("q", ""), "nav": "accounts",
    }, status=status)


def accounts_after(account: Account) -> str:
    """The query string of the accounts page that starts after `account` (bench/scale.py)."""
    return f"after={account.pk}"


@admin_view
def account_create(request: PartnerRequest) -> HttpResponse:
    form = AccountForm(request.POST if request.method == "POST" else None,
                       partner=request.partner)
    if form.is_valid():
        try:
            account = create_account(partner=request.partner, actor=request.user,
                                     **form.cleaned_data)
        except DuplicateExternalId:
            form.add_error("external_id", DUPLICATE_EXTERNAL_ID)  # created meanwhile
        else:
            messages.success(request, f"Account “{account.name}” created.")
            return redirect("accounts:detail", account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "nav": "accounts"})


@admin_view
def account_edit(request: PartnerRequest, account_id: int) -> HttpResponse:
    """Rename the account or change its external id (audited, as in the API)."""
    account = get_account(request, account_id)
    # A copy: a ModelForm writes the cleaned values into its instance, and the service
    # compares the account's own with the changes.
    form = AccountForm(request.POST if request.method == "POST" else None,
                       instance=copy.copy(account), partner=request.partner)
    form.warn_external_id()
    if form.is_valid():
        try:
            update_account(account=account, actor=request.user, **form.cleaned_data)
        except DuplicateExternalId:
            form.add_error("external_id", DUPLICATE_EXTERNAL_ID)  # taken meanwhile
        else:
            messages.success(request, "Changes saved.")
            return redirect("accounts:detail", account.pk)
    return render(request, "accounts/account_form.html",
                  {"form": form, "account": account, "nav": "accounts"})


@admin_view
def account_delete(request: PartnerRequest, account_id: int) -> HttpResponse:
    """A confirmation page (GET), then the deletion of the account and its installs (POST)."""
    account = get_account(request, account_id)
    if request.method == "POST":
        delete_account(account=account, actor=request.user)
        messages.success(request, f"Account “{account.name}” was deleted.")
        return redirect("accounts:list")
    return confirm_page(request, Confirmation(
        title=f"Delete {account.name}",
        consequence=_account_deletion_consequence(account),
        button="Delete account", cancel_url=reverse("accounts:detail", args=[account.pk]),
        breadcrumbs=[("Accounts", reverse("accounts:list")),
                     (account.name, reverse("accounts:detail", args=[account.pk]))],
        nav="accounts"))


def _account_deletion_consequence(account: Account) -> str:
    """What deleting the account does, naming the providers its tokens are revoked at."""
    names = sorted(set(account.installs.values_list("connector__name", flat=True)))
    if not names:
        return "The account is deleted. Its install links stop working. This cannot be undone."
    installs = "its install" if len(names) == 1 and account.installs.count() == 1 else \
        f"its {account.installs.count()} installs"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (f"The account and {installs} are deleted, with their stored credentials; tokens "
            f"are revoked first where the provider offers it ({shown}). Its install links "
            "stop working. This cannot be undone.")


@partner_view
def account_detail(request: PartnerRequest, account_id: int) -> HttpResponse:
    """The account's installs with their status (nothing decrypted) and its recent events."""
    account = get_account(request, account_id)
    installs: QuerySet[Install] = account.installs.without_secrets().select_related("connector")
    attention = bool(request.GET.get("attention"))
    if attention:  # "installs needing attention": due, refresh failing, reauth required
        installs = needing_attention(installs)
    events = (AuditEvent.objects.filter(partner=request.partner, account=account)
              .select_related("actor", "connector")[:AUDIT_ROWS])
    return render(request, "accounts/account_detail.html", {
        "account": account, "installs": installs, "events": events, "nav": "accounts",
        "attention": attention,
    })


# --- installing ----------------------------------------------------------------------------


@admin_view
def install_pick(request: PartnerRequest, account_id: int) -> HttpResponse:
    """"Install connector": choose from the library (active connectors, searchable)."""
    account = get_account(request, account_id)
    form = ConnectorSearchForm(request.GET)
    connectors = form.filter(Connector.objects.active(request.partner)
                             .with_configured(request.partner).only(*CARD_COLUMNS))
    page = page_of(connectors, request.GET.get("page"), CONNECTOR_PAGE_SIZE)
    cards = render_cards("installs/_install_pick_card.html", page, context={"account": account},
                         vary=lambda connector: (connector.is_configured,  # type: ignore[attr-defined]  # annotated
                                                  account.pk))
    return render(request, "installs/install_pick.html", {
        "account": account, "page": page, "cards": cards, "form": form, "nav": "accounts"})


@sensitive_post_parameters()
@admin_view
def install_new(request: PartnerRequest, account_id: int, slug: str) -> HttpResponse:
    account = get_account(request, account_id)
    connector = get_scoped(Connector.objects.active(request.partner), request, slug=slug)
    saved = SavedSettings()
    data = request.POST if request.method == "POST" else None
    form = InstallForm(data, connector=connector, partner=request.partner, saved=saved)
    scopes_form = (InstallScopesForm(data, connector=connector, partner=request.partner,
                                     saved=saved)
                   if InstallScopesForm.applies(connector) else None)
    if form.is_valid() and (scopes_form is None or scopes_form.is_valid()):
        scopes = scopes_form.chosen() if scopes_form else None
        if not connector.uses_callback:
            return _install_at_once(request, form, account, connector, saved, scopes,
                                    scopes_form)
        install = create_install(account=account, connector=connector,
                                 name=form.install_name, values=form.field_values(),
                                 actor=request.user, saved=saved, scopes=scopes)
        messages.success(request, f"{install.display_name} installed. Authenticate it to "
                                  "connect.")
        return redirect(install_url(install))
    return _install_form(request, account, connector, form, scopes_form)


def _install_form(request: PartnerRequest, account: Account, connector: Connector,
                  form: InstallForm, scopes_form: InstallScopesForm | None) -> HttpResponse:
    return render(request, "installs/install_form.html", {
        "account": account, "connector": connector, "form": form, "nav": "accounts",
        "scopes_form": scopes_form,
    })


@sensitive_variables()
def _install_at_once(request: PartnerRequest, form: InstallForm, account: Account,
                     connector: Connector, saved: SavedSettings, scopes: list[str] | None,
                     scopes_form: InstallScopesForm | None) -> HttpResponse:
    """No browser step (API key, basic, client credentials): the provider checks the entered
    values first; a refusal shows the form again with its message, and nothing is saved."""
    try:
        install = create_authenticated_install(
            account=account, connector=connector, name=form.install_name,
            values=form.field_values(), actor=request.user, saved=saved, scopes=scopes)
    except (AuthError, MissingValues) as error:
        form.add_error(None, f"Authentication failed: {error.message}"
                       if isinstance(error, AuthError) else error.message)
        return _install_form(request, account, connector, form, scopes_form)
    messages.success(request, f"{install.display_name} is installed and authenticated.")
    return redirect(install_url(install))


def _install(request: PartnerRequest, account_id: int, install_id: int) -> Install:
    return get_scoped(
        Install.objects.for_partner(request.partner).select_related("account__partner",
                                                                    "connector"),
        request, pk=install_id, account_id=account_id)


def install_url(install: Install, action: str = "") -> str:
    """The console URL of an install page (`action`: "edit", "authenticate", …)."""
    name = f"accounts:install_{action}" if action else "accounts:install"
    return reverse(name, args=[install.account_id, install.pk])


@partner_view
def install_detail(request: PartnerRequest, account_id: int, install_id: int) -> HttpResponse:
    install = _install(request, account_id, install_id)
    # Which secrets are set (values are never shown). API key and basic values move into
    # the credentials once authenticated, so those count as set too.
    secret_keys = set(install.secret_values) | set(install.credentials)
    fields = [{"field": f, "is_set": f.key in secret_keys,
               "value": "" if f.secret else (install.values.get(f.key)
                                             or install.credentials.get(f.key, ""))}
              for f in asked_fields(install.connector, install.account.partner)]
    events = (AuditEvent.objects.filter(partner=request.partner, install=install)
              .select_related("actor")[:AUDIT_ROWS])
    return render(request, "installs/install_detail.html", {
        "install": install, "account": install.account, "fields": fields, "events": events,
        "token_info": install.token_info,
        "has_credentials": bool(install.credentials), "nav": "accounts",
        # Required values nobody entered (a rejected key is dropped): "Authenticate" could
        # not work, so the main action is entering them.
        "needs_values": not install.credentials and bool(Setup.of(install).missing()),
    })


@sensitive_post_parameters()
@admin_view
def install_edit(request: PartnerRequest, account_id: int, install_id: int) -> HttpResponse:
    """Edit an install's values; with `authenticate`, authenticate right after saving."""
    install = _install(request, account_id, install_id)
    saved = SavedSettings()
    form = InstallForm(request.POST if request.method == "POST" else None,
                       connector=install.connector, partner=install.account.partner,
                       install=install, saved=saved)
    then_authenticate = request.GET.get("authenticate") == "1"
    if form.is_valid():
        install = update_install_values(install=install, name=form.install_name,
                                        values=form.field_values(), actor=request.user,
                                        saved=saved)
        if then_authenticate:
            return _start(request, install, saved=saved, form=form)
        messages.success(request, "Changes saved.")
        return redirect(install_url(install))
    return _edit_form(request, install, form, then_authenticate=then_authenticate)


def _edit_form(request: PartnerRequest, install: Install, form: InstallForm, *,
               then_authenticate: bool) -> HttpResponse:
    return render(request, "installs/install_edit.html", {
        "install": install, "account": install.account, "form": form,
        "then_authenticate": then_authenticate, "nav": "accounts",
    })


@require_POST
@partner_view
def install_authenticate(request: PartnerRequest, account_id: int, install_id: int) -> HttpResponse:
    """"Authenticate" / "Reauthenticate": the same install, the same id."""
    return _start(request, _install(request, account_id, install_id))


@sensitive_variables()
def _start(request: PartnerRequest, install: Install, *, saved: SavedSettings | None = None,
           form: InstallForm | None = None) -> HttpResponse:
    """Authenticate; `form`: the details form just saved, shown again with the provider's
    message when it refuses what was entered in it."""
    try:
        url = start_authentication(install=install, actor=request.user, saved=saved,
                                   session_hash=session_hash(request.session, create=True))
    except MissingValues as error:
        messages.warning(request, error.message)
        return redirect(install_url(install, "edit") + "?authenticate=1")
    except AuthError as error:
        if form is not None and not install.connector.uses_callback:
            form.add_error(None, f"Authentication failed: {error.message}")
            return _edit_form(request, install, form, then_authenticate=True)
        messages.error(request, f"Authentication failed: {error.message}")
        return redirect(install_url(install))
    if url:
        return redirect(url)
    messages.success(request, f"{install.display_name} is authenticated.")
    return redirect(install_url(install))


@require_POST
@partner_view
def install_test(request: PartnerRequest, account_id: int, install_id: int) -> HttpResponse:
    """"Test connection": the connector's verify request with the stored credentials."""
    install = _install(request, account_id, install_id)
    result = check_connection(install=install, actor=request.user)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect(install_url(install))


DEAUTH_MESSAGES = {
    Revocation.REVOKED: "The provider revoked the token and the stored credentials were deleted.",
    Revocation.NOT_SUPPORTED: "The stored credentials were deleted (this provider offers no "
                     "revocation; you may also remove the access in its settings).",
    Revocation.UNAVAILABLE: "The provider could not be reached to revoke the token; the stored "
                   "credentials were deleted anyway and the revocation will be retried.",
    Revocation.FAILED: "The provider refused to revoke the token; the stored credentials were "
              "deleted anyway.",
    Revocation.NOTHING_TO_REVOKE: "There were no stored credentials to delete.",
}


@admin_view
def install_deauthenticate(request: PartnerRequest, account_id: int,
                           install_id: int) -> HttpResponse:
    """A confirmation page (GET), then the deauthentication (POST)."""
    install = _install(request, account_id, install_id)
    if request.method != "POST":
        connector = install.connector.name
        return confirm_page(request, Confirmation(
            title=f"Deauthenticate {install.display_name}",
            consequence=f"Tokens are revoked at {connector} where it offers revocation, and "
                        f"the stored credentials are deleted. The install stays; "
                        f"authenticate it again to reconnect.",
            button="Deauthenticate", cancel_url=install_url(install),
            breadcrumbs=_install_crumbs(install), nav="accounts"))
    revocation = deauthenticate(install=install, actor=request.user)
    messages.success(request, f"Deauthenticated. {DEAUTH_MESSAGES[revocation]}")
    return redirect(install_url(install))


@admin_view
def install_delete(request: PartnerRequest, account_id: int, install_id: int) -> HttpResponse:
    """A confirmation page (GET), then the deletion (POST)."""
    install = _install(request, account_id, install_id)
    if request.method == "POST":
        account = install.account
        delete_install(install=install, actor=request.user)
        messages.success(request, f"{install.display_name} was deleted.")
        return redirect("accounts:detail", account.pk)
    return render(request, "installs/install_delete.html",
                  {"install": install, "account": install.account, "nav": "accounts"})


def _install_crumbs(install: Install) -> list[tuple[str, str]]:
    return [("Accounts", reverse("accounts:list")),
            (install.account.name, reverse("accounts:detail", args=[install.account_id])),
            (install.display_name, install_url(install))]


# --- needs attention ---------------------------------------------------------------


@partner_view
def needs_attention(request: PartnerRequest) -> HttpResponse:
    """Installs across the partner that are due, failing to refresh or need reauthentication."""
    now = timezone.now()
    installs = Install.objects.for_partner(request.partner).without_secrets()
    group = request.GET.get("show", "")
    group = group if group in attention_filters() else ""
    rows = AttentionRows(installs.select_related("account", "connector"), now=now,
                         group=group or None)
    numbers = attention_numbers(installs, now=now)
    seen = numbers[group] if group else sum(numbers.values())
    page = CappedPaginator(rows, ATTENTION_PAGE_SIZE, seen=seen).get_page(request.GET.get("page"))
    return render(request, "installs/needs_attention.html", {
        "nav": "attention",
        "page": page,
        "counts": attention_counts(numbers),
        "show": group,
        "now": now,
    })
