"""The partner API's views: thin, over the same services as the console.

Each view loads its objects among the key's partner's own (`scoped`: another partner's
ids are a 404), validates with a serializer, calls a service from installs/ or links/ and
answers with a serializer. The audit log names the key (`ApiKey.actor_label`).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import Lookup, find_scoped
from accounts.models import Account, Partner
from api import serializers as shapes
from api.authentication import CanManage, CanReadCredentials
from api.input import check_path_and_query
from api.lookups import INSTALL_WITH_SECRETS
from api.models import ApiKey
from api.pagination import MAX_ID, Cursor
from api.problems import DESCRIPTIONS, MEDIA_TYPE, Problem, ProblemCode, ProblemSerializer
from audit.models import AuditEvent
from connectors.auth.base import AuthError
from core import metrics
from core.text import external_id_forms
from installs.accounts import DuplicateExternalId, create_account, delete_account, update_account
from installs.credentials import NotWorking, share_credentials
from installs.importing import import_install
from installs.installing import create_install
from installs.models import Install
from installs.removal import deauthenticate, delete_install
from installs.signin import create_authenticated_install
from installs.values import MissingValues
from installs.verification import check_connection
from links import services as links
from links.models import InstallLink

M = TypeVar("M", bound=Model)


def problems(*codes: int) -> dict[Any, Any]:
    """The schema's error responses: problem details for each status (401, 403, 429 always)."""
    return {(code, MEDIA_TYPE): OpenApiResponse(ProblemSerializer, description=DESCRIPTIONS[code])
            for code in sorted({401, 403, 429, *codes})}


PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="From the previous page's `next`."),
    OpenApiParameter("limit", int, description=f"Rows per page (at most {Cursor.max_page_size})."),
]


#: The path parameters, described once.
ACCOUNT = OpenApiParameter("external_id", str, OpenApiParameter.PATH,
                           description="The account's external id: your own id for it.")
INSTALL = OpenApiParameter("install_id", int, OpenApiParameter.PATH,
                           description="The install's id (from its account's install list).")
LINK = OpenApiParameter("link_id", int, OpenApiParameter.PATH,
                        description="The install link's id (from its creation).")
SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The connector's slug.")


def answers(ok: Any, *codes: int, ok_status: int = 200) -> dict[Any, Any]:
    return {ok_status: ok, **problems(*codes)}


@functools.cache
def no_parameters(serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """What a query serializer makes of no parameters at all: its defaults, which are
    constants (tests/api/test_query_defaults.py), so worked out once per class instead
    of on every request (building and running a serializer was 0.25M of the 3.5M
    instructions a credentials read adds to the key check: docs/benchmarks.md, "Hot paths
    near their floor")."""
    query = serializer_class(data={})
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class ApiView(APIView):
    """Base of the API's views: scope Manage unless a view says otherwise."""

    permission_classes: list[type[BasePermission]] = [CanManage]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """The key, its scope and its rate first; then no NUL in the path or query (400)."""
        super().initial(request, *args, **kwargs)
        check_path_and_query(request)

    def finalize_response(self, request: Request, response: Response, *args: Any,
                          **kwargs: Any) -> Response:
        """Every answer, refusals included, is counted by URL name and status (/metrics)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        match = request.resolver_match
        metrics.observe_api_request((match.url_name if match else "") or "",
                                    response.status_code)
        return response

    @property
    def key(self) -> ApiKey:
        return self.request.auth  # type: ignore[return-value]

    @property
    def partner(self) -> Partner:
        return self.key.partner

    def scoped(self, queryset: Lookup[M], **lookup: Any) -> M:
        """One of the partner's objects from a partner-scoped queryset, or 404 (logged)."""
        found = find_scoped(queryset, who=f"API key {self.key.prefix}", **lookup)
        if found is None:
            raise NotFound(f"No {queryset.model._meta.verbose_name} found.")
        return found

    def account(self, external_id: str) -> Account:
        """By its external id compared in NFC, the exact form first (Account.by_external_id);
        the lookup repeated as a filter only to name the id in the miss's log line."""
        accounts = (Account.objects.filter(partner=self.partner).by_external_id(external_id)
                    .select_related("partner").defer("partner__logo"))
        return self.scoped(accounts, external_id__in=external_id_forms(external_id))

    def install(self, install_id: int, *, secrets: bool = True) -> Install:
        """With its secrets (and the partner's settings, joined in: the views that need
        the secrets configure the auth method), or without either."""
        if install_id > MAX_ID:  # the lookup's raw SQL parameter would overflow SQLite
            raise NotFound("No install found.")
        if secrets:
            install = self.scoped(INSTALL_WITH_SECRETS, install=install_id,
                                  partner=self.partner.pk)
        else:
            install = self.scoped(Install.objects.for_partner(self.partner).without_secrets()
                                  .select_related("account", "connector"), pk=install_id)
        install.account.partner = self.partner  # the one it was scoped by: no join for it
        return install

    def query(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        if not self.request.query_params:  # the usual call: every parameter left out
            return dict(no_parameters(serializer_class))
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)

    def body(self, serializer_class: type[serializers.Serializer[Any]],
             **context: Any) -> serializers.Serializer[Any]:
        if not isinstance(self.request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        body = serializer_class(data=self.request.data,
                                context={"partner": self.partner, **context})
        body.is_valid(raise_exception=True)
        return body

    def page(self, queryset: QuerySet[Any], serializer_class: type[serializers.Serializer[Any]],
             paginator_class: type[Cursor] = Cursor) -> Response:
        paginator = paginator_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(rows, many=True).data)


def install_data(install: Install) -> dict[str, Any]:
    fresh = Install.objects.without_secrets().select_related("account", "connector").get(
        pk=install.pk)
    return shapes.InstallSerializer(fresh).data


# --- accounts --------------------------------------------------------------------------


class AccountList(ApiView):
    @extend_schema(operation_id="accounts_list", summary="Accounts",
                   parameters=[shapes.AccountQuery, *PAGE_PARAMETERS],
                   responses=answers(shapes.page_of(shapes.AccountSerializer), 400))
    def get(self, request: Request) -> Response:
        query = self.query(shapes.AccountQuery)
        accounts = Account.objects.filter(partner=self.partner)
        if "external_id" in query:
            accounts = accounts.same_external_id(query["external_id"])
        if query.get("q"):
            accounts = (accounts.filter(name__icontains=query["q"])
                        | accounts.filter(external_id__icontains=query["q"]))
        return self.page(accounts, shapes.AccountSerializer)

    @extend_schema(operation_id="accounts_create", summary="Create an account",
                   request=shapes.AccountSerializer,
                   responses=answers(shapes.AccountSerializer, 400, 409, ok_status=201))
    def post(self, request: Request) -> Response:
        body = self.body(shapes.AccountSerializer)
        try:
            account = create_account(partner=self.partner, actor=None,
                                     actor_label=self.key.actor_label,
                                     **body.validated_data)
        except DuplicateExternalId:
            raise duplicate() from None
        return Response(shapes.AccountSerializer(account).data, status=status.HTTP_201_CREATED)


def duplicate() -> Problem:
    return Problem(409, "An account with this external id already exists.",
                   code=ProblemCode.DUPLICATE_EXTERNAL_ID)


class AccountDetail(ApiView):
    @extend_schema(operation_id="accounts_retrieve", parameters=[ACCOUNT],
                   summary="One account",
                   responses=answers(shapes.AccountSerializer, 404))
    def get(self, request: Request, external_id: str) -> Response:
        return Response(shapes.AccountSerializer(self.account(external_id)).data)

    @extend_schema(operation_id="accounts_update", parameters=[ACCOUNT],
                   summary="Rename an account or change its external id",
                   request=shapes.AccountSerializer(partial=True),
                   responses=answers(shapes.AccountSerializer, 400, 404, 409))
    def patch(self, request: Request, external_id: str) -> Response:
        account = self.account(external_id)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        body = shapes.AccountSerializer(account, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            account = update_account(account=account, actor=None,
                                     actor_label=self.key.actor_label,
                                     **body.validated_data)
        except DuplicateExternalId:
            raise duplicate() from None
        return Response(shapes.AccountSerializer(account).data)

    @extend_schema(operation_id="accounts_destroy", parameters=[ACCOUNT],
                   summary="Delete an account: its installs are revoked and deleted",
                   responses=answers(None, 404, ok_status=204))
    def delete(self, request: Request, external_id: str) -> Response:
        delete_account(account=self.account(external_id), actor=None,
                       actor_label=self.key.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- installs --------------------------------------------------------------------------


class AccountInstalls(ApiView):
    @extend_schema(operation_id="installs_list", summary="An account's installs",
                   parameters=[ACCOUNT, *PAGE_PARAMETERS],
                   responses=answers(shapes.page_of(shapes.InstallSerializer), 404))
    def get(self, request: Request, external_id: str) -> Response:
        account = self.account(external_id)
        installs = (Install.objects.without_secrets().filter(account=account)
                    .select_related("account", "connector"))
        return self.page(installs, shapes.InstallSerializer)

    @extend_schema(operation_id="installs_create", parameters=[ACCOUNT],
                   summary="Install a connector",
                   description="API key, basic, client credentials and none authenticate at "
                               "once (201 `authenticated`, or 422 and nothing saved); browser "
                               "flows answer 201 `pending`, to complete through an install "
                               "link. With `credentials` an existing connection is imported: "
                               "an expired access token is refreshed, the connector's verify "
                               "request runs, then 201 `authenticated` -- or 422 with the "
                               "provider's message and nothing saved.",
                   request=shapes.InstallCreateSerializer,
                   responses=answers(shapes.InstallSerializer, 400, 404, 422, ok_status=201))
    def post(self, request: Request, external_id: str) -> Response:
        account = self.account(external_id)
        data = self.body(shapes.InstallCreateSerializer, account=account).validated_data
        if data.get("scope_errors"):
            raise Problem(422, "The scopes are invalid; see `errors`. Nothing was saved.",
                          code=ProblemCode.VALIDATION_ERROR,
                          errors={"scopes": data["scope_errors"]})
        try:
            if "imported" in data:
                data["imported"].scopes = data.get("scopes")
                install = import_install(data["imported"], actor=None,
                                         actor_label=self.key.actor_label)
            else:
                create = (create_install if data["connector"].uses_callback
                          else create_authenticated_install)
                install = create(account=account, connector=data["connector"],
                                 name=data["name"], values=data["values"], actor=None,
                                 actor_label=self.key.actor_label, scopes=data.get("scopes"))
        except MissingValues as error:
            raise ValidationError({f"values.{f.key}": [error.message]
                                   for f in error.fields}) from None
        except AuthError as error:
            raise Problem(422, error.message, code=error.kind) from None
        return Response(install_data(install), status=status.HTTP_201_CREATED)


class InstallDetail(ApiView):
    @extend_schema(operation_id="installs_retrieve", parameters=[INSTALL],
                   summary="One install (never a secret)",
                   responses=answers(shapes.InstallSerializer, 404))
    def get(self, request: Request, install_id: int) -> Response:
        return Response(shapes.InstallSerializer(self.install(install_id, secrets=False)).data)

    @extend_schema(operation_id="installs_destroy", parameters=[INSTALL],
                   summary="Revoke and delete an install",
                   responses=answers(None, 404, ok_status=204))
    def delete(self, request: Request, install_id: int) -> Response:
        delete_install(install=self.install(install_id), actor=None,
                       actor_label=self.key.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstallVerify(ApiView):
    @extend_schema(operation_id="installs_verify", parameters=[INSTALL],
                   summary="Test connection", request=None,
                   responses=answers(shapes.VerifySerializer, 404))
    def post(self, request: Request, install_id: int) -> Response:
        install = self.install(install_id)
        check = check_connection(install=install, actor=None,
                                         actor_label=self.key.actor_label)
        return Response({"ok": check.ok, "message": check.message,
                         "install": install_data(install)})


class InstallDeauthenticate(ApiView):
    @extend_schema(operation_id="installs_deauthenticate", parameters=[INSTALL],
                   summary="Deauthenticate: revoke at the provider where possible, delete "
                           "the credentials", request=None,
                   responses=answers(shapes.DeauthenticateSerializer, 404))
    def post(self, request: Request, install_id: int) -> Response:
        install = self.install(install_id)
        revocation = deauthenticate(install=install, actor=None,
                                    actor_label=self.key.actor_label)
        return Response({"revocation": revocation, "install": install_data(install)})


class InstallCredentials(ApiView):
    permission_classes = [CanReadCredentials]
    #: One serializer for every answer: `to_representation` keeps no state, and building
    #: its fields anew for each read (DRF deep-copies them per instance) was a sixth of
    #: this view's CPU beyond the key check (docs/benchmarks.md, "Hot paths near their floor").
    answer = shapes.CredentialsSerializer()

    @extend_schema(operation_id="installs_credentials", summary="Fresh credentials",
                   description="Refreshed first when due (or with `force_refresh`); "
                               "`Cache-Control: no-store`; every read is audited.",
                   parameters=[INSTALL, shapes.CredentialsQuery],
                   responses=answers(shapes.CredentialsSerializer, 400, 404, 409))
    def get(self, request: Request, install_id: int) -> Response:
        force = self.query(shapes.CredentialsQuery)["force_refresh"]
        try:
            shared = share_credentials(install=self.install(install_id),
                                       actor_label=self.key.actor_label,
                                       force_refresh=force)
        except NotWorking as error:
            raise not_working(error.install) from None
        response = Response(self.answer.to_representation(shared))
        response["Cache-Control"] = "no-store"
        return response


def not_working(install: Install) -> Problem:
    return Problem(409, f"This install is not authenticated (status {install.status}).",
                   code=ProblemCode.NOT_AUTHENTICATED, extra={"install_status": install.status})


# --- install links ---------------------------------------------------------------------


class AccountInstallLinks(ApiView):
    @extend_schema(operation_id="install_links_create", parameters=[ACCOUNT],
                   summary="Create an install link",
                   request=shapes.InstallLinkCreateSerializer,
                   responses=answers(shapes.InstallLinkSerializer, 400, 404, 422, ok_status=201))
    def post(self, request: Request, external_id: str) -> Response:
        account = self.account(external_id)
        data = self.body(shapes.InstallLinkCreateSerializer, account=account).validated_data
        offered = [*data["connectors"], *([data["reconnect_install"].connector]
                                          if data["reconnect_install"] else [])]
        try:
            links.link_scopes(offered, data["scopes"])
        except DjangoValidationError as error:
            raise Problem(422, "The scopes are invalid; see `errors`. Nothing was saved.",
                          code=ProblemCode.VALIDATION_ERROR,
                          errors={"scopes": error.messages}) from None
        try:
            link, token = links.create_link(
                account=account, connectors=data["connectors"],
                expires_in=timedelta(minutes=data["expires_minutes"]),
                return_url=data["return_url"], install=data["reconnect_install"], actor=None,
                actor_label=self.key.actor_label, scopes=data["scopes"])
        except DjangoValidationError as error:
            raise ValidationError({"non_field_errors": error.messages}) from None
        return Response({"id": link.pk, "url": links.link_url(token),
                         "expires_at": link.expires_at}, status=status.HTTP_201_CREATED)


class InstallLinkDetail(ApiView):
    @extend_schema(operation_id="install_links_destroy", parameters=[LINK],
                   summary="Revoke an install link",
                   responses=answers(None, 404, ok_status=204))
    def delete(self, request: Request, link_id: int) -> Response:
        link = self.scoped(InstallLink.objects.filter(account__partner=self.partner)
                           .select_related("account__partner", "install"), pk=link_id)
        links.revoke_link(link=link, actor=None, actor_label=self.key.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- events ----------------------------------------------------------------------------


class EventList(ApiView):
    @extend_schema(operation_id="events_list", summary="The audit log",
                   parameters=[shapes.EventQuery, *PAGE_PARAMETERS],
                   responses=answers(shapes.page_of(shapes.EventSerializer), 400))
    def get(self, request: Request) -> Response:
        query = self.query(shapes.EventQuery)
        events = AuditEvent.objects.filter(partner=self.partner).select_related(
            "actor", "account", "connector")
        if "account" in query:
            events = events.filter(account__partner=self.partner,
                                   account__external_id=query["account"])
        if "install" in query:
            events = events.filter(install_id=query["install"])
        if "action" in query:
            events = events.filter(action=query["action"])
        if "since" in query:
            events = events.filter(created_at__gte=query["since"])
        if "until" in query:
            events = events.filter(created_at__lt=query["until"])
        return self.page(events, shapes.EventSerializer)


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /api/v1/: a problem-details 404 (not the console's page)."""

    authentication_classes: list[Any] = []
    permission_classes: list[type[BasePermission]] = []
    throttle_classes: list[Any] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        check_path_and_query(request)
        raise NotFound("There is no such endpoint.")


class ApiDocs(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar (this server's static files, no CDN), its
    start-up script a separate request: the CSP stays 'self' (templates/api/docs.html)."""

    template_name = "api/docs.html"
    title = "Hatchway partner API"
