"""Errors as RFC 9457 problem details (`application/problem+json`).

Every refusal the API gives -- DRF's own (400, 401, 403, 404, 405, 415, 429), Django's
Http404 and PermissionDenied, and the API's (409, 413, 422, 502, 504) -- has `type`,
`title`, `status` and `detail`; validation errors add `errors`, a list of messages per
field. `type` names the problem (`urn:hatchway:problem:<code>`).
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from connectors.auth.base import ErrorKind
from installs.proxy import RefusalCode

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:hatchway:problem:"


class ProblemCode(StrEnum):
    """The `<code>` in a problem's `type`: DRF's refusals and the API's own. Besides these,
    a provider's refusal of new credentials (422) carries its `ErrorKind`, and a proxied
    call the proxy's `RefusalCode`; `CODES` is all of them."""

    VALIDATION_ERROR = "validation_error"
    PARSE_ERROR = "parse_error"
    AUTHENTICATION_FAILED = "authentication_failed"
    NOT_AUTHENTICATED = "not_authenticated"  # 401 without a key; 409 for an install
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    ERROR = "error"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    LENGTH_REQUIRED = "length_required"
    REQUEST_TOO_LARGE = "request_too_large"
    SETTINGS_IN_USE = "settings_in_use"
    CONNECTOR_IN_USE = "connector_in_use"


Code = ProblemCode | ErrorKind | RefusalCode
#: Every code a problem's `type` may carry (the schema lists them).
CODES: tuple[str, ...] = tuple(dict.fromkeys([*ProblemCode, *ErrorKind, *RefusalCode]))


class Problem(exceptions.APIException):
    """A refusal with its own status and code:
    `Problem(409, "…", code=ProblemCode.DUPLICATE_EXTERNAL_ID)`."""

    def __init__(self, status_code: int, detail: str, *, code: Code,
                 extra: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, code)
        self.status_code, self.code, self.extra = status_code, code, extra or {}
        self.errors = errors  # a refusal by field that is not a 400 (e.g. a 422)


def problem_response(status_code: int, detail: str, *, code: str,
                     errors: dict[str, list[str]] | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": HTTPStatus(status_code).phrase,
                            "status": status_code, "detail": detail, **extra}
    if errors is not None:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers)
    response.content_type = MEDIA_TYPE
    return response


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: DRF's own handling (status, Retry-After, WWW-Authenticate),
    then the body rewritten as a problem; None (a 500) for what is not a refusal."""
    if isinstance(exc, DjangoValidationError):  # a service's own refusal (e.g. a hidden
        # character in a name, core/text.py) is a 400 like the serializers' checks
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, exceptions.APIException):  # Http404, PermissionDenied
        exc = (exceptions.NotFound() if response.status_code == 404
               else exceptions.PermissionDenied())
    errors, code = None, ProblemCode.ERROR.value  # DRF's codes arrive as plain strings
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = "The request is invalid; see `errors`."
        code = ProblemCode.VALIDATION_ERROR
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    extra = exc.extra if isinstance(exc, Problem) else {}
    if isinstance(exc, Problem) and exc.errors is not None:
        errors = exc.errors
    problem = problem_response(response.status_code, detail, code=code, errors=errors, **extra)
    for name in ("Retry-After", "WWW-Authenticate", "Allow"):
        if name in response:
            problem[name] = response[name]
    return problem


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail flattened to {"field" or "field.sub": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(field_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = [str(d) for d in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "non_field_errors": messages}


class ProblemSerializer(serializers.Serializer[Any]):
    """The shape of every error (for the schema)."""

    type = serializers.ChoiceField(
        choices=[TYPE_PREFIX + code for code in CODES],
        help_text="`urn:hatchway:problem:<code>`: what went wrong, as a stable word.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, safe to show.")
    # A field named like Serializer.errors: DRF keeps declared fields apart, the stubs do not.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation errors: messages per field.")
    install_status = serializers.CharField(required=False,
                                           help_text="409 on an install: its status.")
    installs = serializers.IntegerField(required=False,
                                        help_text="409 on clearing Authentication Settings: "
                                                  "how many installs use them.")


#: What each error status means, for the schema.
DESCRIPTIONS = {
    status.HTTP_400_BAD_REQUEST: "Malformed request or invalid fields.",
    status.HTTP_401_UNAUTHORIZED: "Missing, invalid or revoked API key.",
    status.HTTP_403_FORBIDDEN: "The API key lacks this endpoint's scope.",
    status.HTTP_404_NOT_FOUND: "Not found (or another partner's).",
    status.HTTP_409_CONFLICT: "Conflicts with the current state.",
    status.HTTP_411_LENGTH_REQUIRED: "A body without Content-Length (chunked).",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "A body over PROXY_MAX_BODY.",
    status.HTTP_422_UNPROCESSABLE_ENTITY: "The provider rejected the credentials.",
    status.HTTP_429_TOO_MANY_REQUESTS: "Rate limit (API_RATE_LIMIT) exceeded; see Retry-After.",
    status.HTTP_502_BAD_GATEWAY: "The provider could not be reached.",
    status.HTTP_504_GATEWAY_TIMEOUT: "The provider did not answer in time.",
}
