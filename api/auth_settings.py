"""`/api/v1/connectors/{slug}/settings`: the partner's Authentication Settings by API
(scope Configure). The same form validates and the same services save as on the console's
Authentication Settings page; a secret value is never answered."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as shapes
from api.authentication import CanConfigure
from api.problems import MEDIA_TYPE, Problem, ProblemCode, ProblemSerializer
from api.views import SLUG, ApiView, answers
from audit.models import Action, AuditEvent
from connectors.forms import AuthSettingsForm, check_scopes, clear_name, has_scopes
from connectors.models import Connector, PartnerAuthSettings
from connectors.services import clear_auth_settings, save_auth_settings, sign_in_callback_url
from core.fields import is_unreadable
from installs.models import Install

INVALID = {(422, MEDIA_TYPE): OpenApiResponse(
    ProblemSerializer,
    description="Invalid values (`errors` by `values.<key>`, or `scopes`); nothing saved.")}
IN_USE = {(409, MEDIA_TYPE): OpenApiResponse(
    ProblemSerializer, description="Installs use the settings (`installs`: how many); send "
                                   "`?force=true` to clear them anyway.")}


def invalid(errors: dict[str, list[str]]) -> Problem:
    return Problem(422, "The Authentication Settings are invalid; see `errors`. Nothing was "
                        "saved.", code=ProblemCode.VALIDATION_ERROR, errors=errors)


def last_saved_by(saved: PartnerAuthSettings) -> str | None:
    """Who saved last, from the audit log (an API key has no user to keep on the row)."""
    event = (AuditEvent.objects.filter(partner_id=saved.partner_id, action=Action.SETTINGS_SAVED,
                                       connector=saved.connector_id)
             .select_related("actor").first())
    if event is not None:
        return event.actor.email if event.actor else event.actor_label
    return saved.saved_by.email if saved.saved_by else None


def settings_data(connector: Connector, saved: PartnerAuthSettings | None) -> dict[str, Any]:
    """The answer: non-secret values and the names of the secrets that are set."""
    fields = connector.spec.partner_fields
    secrets = {} if saved is None or is_unreadable(saved.secret_values) else (
        saved.secret_values or {})
    values = saved.values if saved else {}
    return {
        "configured": connector.is_configured,  # type: ignore[attr-defined]  # with_configured()
        "callback_url": sign_in_callback_url(connector, saved),
        "values": {f.key: values[f.key] for f in fields if not f.secret and f.key in values},
        "secrets_set": [f.key for f in fields if f.secret and secrets.get(f.key)],
        "scopes": list(scopes_of(connector, saved)),
        "updated_at": saved.saved_at if saved else None,
        "updated_by": last_saved_by(saved) if saved else None,
    }


def scopes_of(connector: Connector, saved: PartnerAuthSettings | None) -> tuple[str, ...]:
    """The scopes new installs request ([] for a connector without Scopes)."""
    if not has_scopes(connector.spec):
        return ()
    return saved.sign_in_scopes(connector.spec) if saved else connector.spec.auth.scopes


def chosen_scopes(connector: Connector, scopes: list[str]) -> list[str] | None:
    """A PUT's `scopes`, checked like the console's Scopes; [] is the catalogue's defaults."""
    if not has_scopes(connector.spec):
        raise invalid({"scopes": ["Only OAuth 2.0 and client-credentials connectors have "
                                  "scopes."]})
    try:
        return check_scopes(scopes) or None
    except ValidationError as error:
        raise invalid({"scopes": list(error.messages)}) from None


@sensitive_variables("values", "data")
def validated(connector: Connector, saved: PartnerAuthSettings | None,
              values: dict[str, str | None]) -> dict[str, Any]:
    """The console's form, bound to what the console would post; its cleaned data, or 422."""
    fields = {f.key: f for f in connector.spec.partner_fields}
    errors = {f"values.{key}": ["This connector has no partner-level field with this key."]
              for key in values if key not in fields}
    errors |= {f"values.{key}": [f"Send null to clear the {fields[key].label}; an empty value "
                                 "is not saved."]
               for key, value in values.items()
               if key in fields and fields[key].secret and value is not None
               and not value.strip()}
    if errors:
        raise invalid(errors)
    data = AuthSettingsForm.data_for(connector.spec, saved, values)
    form = AuthSettingsForm(data, spec=connector.spec, saved=saved)
    if not form.is_valid():
        raise invalid({(name if name == "scopes" else f"values.{form_key(name)}"):
                       [str(m) for m in messages]
                       for name, messages in form.errors.items()})
    return form.cleaned_data


def form_key(name: str) -> str:
    """A form error's field key: a secret's "Clear" box is the secret's own field."""
    prefix = clear_name("")
    return name.removeprefix(prefix) if name.startswith(prefix) else name


class ConnectorSettings(ApiView):
    permission_classes = [CanConfigure]

    def connector(self, slug: str) -> Connector:
        return self.scoped(
            Connector.objects.active(self.partner).with_configured(self.partner), slug=slug)

    def saved(self, connector: Connector, *, lock: bool = False) -> PartnerAuthSettings | None:
        saved = PartnerAuthSettings.objects.for_partner(self.partner).filter(connector=connector)
        return (saved.select_for_update() if lock else saved.select_related("saved_by")).first()

    def answer(self, slug: str) -> Response:
        connector = self.connector(slug)
        return Response(settings_data(connector, self.saved(connector)))

    @extend_schema(operation_id="connector_settings_retrieve", parameters=[SLUG],
                   summary="A connector's Authentication Settings (never a secret value)",
                   responses=answers(shapes.AuthSettingsSerializer, 404))
    def get(self, request: Request, slug: str) -> Response:
        return self.answer(slug)

    @extend_schema(operation_id="connector_settings_update", parameters=[SLUG],
                   summary="Change a connector's Authentication Settings",
                   description="Validated like the console's Authentication Settings page and "
                               "audited as the API key. A field left out keeps its saved "
                               "value; null clears it.",
                   request=shapes.AuthSettingsInput,
                   responses={**answers(shapes.AuthSettingsSerializer, 400, 404), **INVALID})
    @method_decorator(sensitive_variables("values", "cleaned"))
    def put(self, request: Request, slug: str) -> Response:
        connector = self.connector(slug)
        body = self.body(shapes.AuthSettingsInput).validated_data
        scopes = chosen_scopes(connector, body["scopes"]) if "scopes" in body else None
        with transaction.atomic():  # the fields left out keep what is saved at this moment
            cleaned = validated(connector, self.saved(connector, lock=True), body["values"])
            if "scopes" in body:
                cleaned["chosen_scopes"] = scopes
            save_auth_settings(partner=self.partner, connector=connector, user=None,
                               cleaned=cleaned, actor_label=self.key.actor_label)
        return self.answer(slug)

    @extend_schema(operation_id="connector_settings_destroy", parameters=[SLUG, shapes.ForceQuery],
                   summary="Clear a connector's Authentication Settings",
                   description="Refused (409) while installs that are not deauthenticated "
                               "use them, unless `force=true`.",
                   responses={**answers(None, 400, 404, ok_status=204), **IN_USE})
    def delete(self, request: Request, slug: str) -> Response:
        connector = self.connector(slug)
        force = self.query(shapes.ForceQuery)["force"]
        if self.saved(connector) is not None and not force:
            using = (Install.objects.filter(account__partner=self.partner, connector=connector)
                     .exclude(status=Install.Status.DEAUTHENTICATED).count())
            if using:
                raise Problem(409, f"{using} install(s) use these Authentication Settings; "
                                   "send force=true to clear them anyway.",
                              code=ProblemCode.SETTINGS_IN_USE, extra={"installs": using})
        clear_auth_settings(partner=self.partner, connector=connector, user=None,
                            actor_label=self.key.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)
