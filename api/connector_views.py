"""The partner API's connector views: the library (list, one connector) and the partner's
custom connectors (create, replace, change, delete, retire, restore)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as shapes
from api.authentication import ReadsManageWritesConfigure
from api.pagination import BySlug
from api.problems import MEDIA_TYPE, Problem, ProblemCode, ProblemSerializer
from api.views import PAGE_PARAMETERS, SLUG, ApiView, answers
from connectors import custom
from connectors.models import Connector

CONNECTOR_INVALID = {(422, MEDIA_TYPE): OpenApiResponse(
    ProblemSerializer, description="The definition is refused: `errors` by dotted key "
                                   "(`auth.token_url`); nothing saved.")}
CONNECTOR_IN_USE = {(409, MEDIA_TYPE): OpenApiResponse(
    ProblemSerializer, description="Installs use it (`installs`: how many): retire it instead.")}


def definition_refused(error: custom.DefinitionError) -> Problem:
    return Problem(422, "The connector definition is invalid; see `errors`. Nothing was saved.",
                   code=ProblemCode.VALIDATION_ERROR, errors=error.errors)


class ConnectorView(ApiView):
    """The connector views: read with Manage; custom connectors changed with Configure
    (catalogue ones answer 403)."""

    permission_classes = [ReadsManageWritesConfigure]

    def own(self, slug: str) -> Connector:
        """One of the partner's custom connectors (retired too) to change; a catalogue
        connector is 403, another partner's is not found."""
        connector = self.scoped(Connector.objects.visible_to(self.partner), slug=slug)
        if not connector.is_custom:
            raise Problem(403, "Catalogue connectors cannot be changed: create a custom "
                               "connector instead.", code=ProblemCode.PERMISSION_DENIED)
        return connector

    def custom_answer(self, connector: Connector, status_code: int = 200) -> Response:
        fresh = Connector.objects.with_configured(self.partner).get(pk=connector.pk)
        return Response(shapes.CustomConnectorSerializer(fresh).data, status=status_code)

    def definition(self) -> dict[str, Any]:
        if not isinstance(self.request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        return dict(self.request.data)


class ConnectorList(ConnectorView):
    @extend_schema(operation_id="connectors_list", summary="The connector library",
                   parameters=[shapes.ConnectorQuery, *PAGE_PARAMETERS],
                   responses=answers(shapes.page_of(shapes.ConnectorSerializer), 400))
    def get(self, request: Request) -> Response:
        query = self.query(shapes.ConnectorQuery)
        connectors = Connector.objects.active(self.partner).with_configured(self.partner).defer(
            "spec_data")
        for term in query.get("q", "").lower().split():
            connectors = connectors.filter(search_text__contains=term)
        if query.get("auth_type"):
            connectors = connectors.filter(auth_type=query["auth_type"])
        if query.get("source"):
            connectors = connectors.filter(owner__isnull=query["source"] == "catalogue")
        if query.get("configured") is not None:
            # `is_configured` is with_configured()'s annotation, unknown to the stubs.
            connectors = connectors.filter(is_configured=query["configured"])  # type: ignore[misc]
        return self.page(connectors, shapes.ConnectorSerializer, BySlug)


    @extend_schema(operation_id="connectors_create", summary="Create a custom connector",
                   description="Scope Configure. Without endpoints, `auth.issuer` is "
                               "discovered (RFC 8414, OpenID Connect).",
                   request=shapes.ConnectorDefinitionSerializer,
                   responses={**answers(shapes.CustomConnectorSerializer, 400, ok_status=201),
                              **CONNECTOR_INVALID})
    def post(self, request: Request) -> Response:
        try:
            connector = custom.create(partner=self.partner, data=self.definition(), actor=None,
                                      actor_label=self.key.actor_label)
        except custom.DefinitionError as error:
            raise definition_refused(error) from None
        return self.custom_answer(connector, status.HTTP_201_CREATED)


class ConnectorDetail(ConnectorView):
    @extend_schema(operation_id="connectors_retrieve", parameters=[SLUG],
                   summary="One connector and its fields",
                   responses=answers(shapes.ConnectorDetailSerializer, 404))
    def get(self, request: Request, slug: str) -> Response:
        connector = self.scoped(
            Connector.objects.active(self.partner).with_configured(self.partner), slug=slug)
        if connector.is_custom:
            return Response(shapes.CustomConnectorSerializer(connector).data)
        return Response(shapes.ConnectorDetailSerializer(connector).data)

    def change(self, slug: str, data: dict[str, Any]) -> Response:
        connector = self.own(slug)
        try:
            connector = custom.update(connector=connector, data=data, actor=None,
                                      actor_label=self.key.actor_label)
        except custom.DefinitionError as error:
            raise definition_refused(error) from None
        return self.custom_answer(connector)

    @extend_schema(operation_id="connectors_update", parameters=[SLUG],
                   summary="Replace a custom connector's definition",
                   request=shapes.ConnectorDefinitionSerializer,
                   responses={**answers(shapes.CustomConnectorSerializer, 400, 404),
                              **CONNECTOR_INVALID})
    def put(self, request: Request, slug: str) -> Response:
        return self.change(slug, self.definition())

    @extend_schema(operation_id="connectors_partial_update", parameters=[SLUG],
                   summary="Change parts of a custom connector's definition",
                   request=shapes.ConnectorDefinitionSerializer,
                   responses={**answers(shapes.CustomConnectorSerializer, 400, 404),
                              **CONNECTOR_INVALID})
    def patch(self, request: Request, slug: str) -> Response:
        return self.change(slug, custom.merged(self.own(slug), self.definition()))

    @extend_schema(operation_id="connectors_destroy", parameters=[SLUG],
                   summary="Delete a custom connector without installs",
                   responses={**answers(None, 404, ok_status=204), **CONNECTOR_IN_USE})
    def delete(self, request: Request, slug: str) -> Response:
        try:
            custom.delete(connector=self.own(slug), actor=None,
                          actor_label=self.key.actor_label)
        except custom.InUse as error:
            raise Problem(409, str(error), code=ProblemCode.CONNECTOR_IN_USE,
                          extra={"installs": error.installs}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectorRetire(ConnectorView):
    @extend_schema(operation_id="connectors_retire", parameters=[SLUG], request=None,
                   summary="Retire a custom connector",
                   description="Hidden from the library and from new installs; its installs "
                               "keep working.",
                   responses=answers(shapes.CustomConnectorSerializer, 404))
    def post(self, request: Request, slug: str) -> Response:
        connector = custom.retire(connector=self.own(slug), actor=None,
                                  actor_label=self.key.actor_label)
        return self.custom_answer(connector)


class ConnectorRestore(ConnectorView):
    @extend_schema(operation_id="connectors_restore", parameters=[SLUG], request=None,
                   summary="Offer a retired custom connector again",
                   description="Back in the library and offered for new installs; audited "
                               "as `connector.updated` with `keys` `[\"retired\"]`. A "
                               "connector that is not retired is answered as it is.",
                   responses=answers(shapes.CustomConnectorSerializer, 404))
    def post(self, request: Request, slug: str) -> Response:
        connector = custom.restore(connector=self.own(slug), actor=None,
                                   actor_label=self.key.actor_label)
        return self.custom_answer(connector)
