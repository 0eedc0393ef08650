"""Problem codes are one vocabulary the schema lists, with their wire values unchanged."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator

from api.problems import CODES, TYPE_PREFIX, ProblemCode
from connectors.auth.base import AuthError, ErrorKind, InvalidGrant, TransientError
from installs.proxy import RefusalCode


def test_the_schema_lists_every_problem_type():
    """Problem.type is an enum of every code the API can answer with."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    listed = generated["components"]["schemas"]["ProblemTypeEnum"]["enum"]
    assert listed == [TYPE_PREFIX + code for code in CODES]
    for code in ("duplicate_external_id", "verify_failed", "unsafe_path", "not_found"):
        assert TYPE_PREFIX + code in listed


def test_the_wire_values_stay_as_they_were():
    """Clients and webhook consumers match these words: renaming a member keeps its value."""
    assert [str(k) for k in ErrorKind] == [
        "error", "denied", "token_error", "provider_error", "timeout", "unavailable",
        "invalid_grant", "invalid_callback", "configuration", "verify_failed", "revoke_failed",
        "missing_values", "expired", "credentials_unreadable", "not_supported", "gave_up"]
    assert {str(c) for c in RefusalCode} == {
        "no_base_url", "unsafe_path", "invalid_header", "not_authenticated", "timeout",
        "unsafe_url", "unreachable", "response_too_large"}
    assert ProblemCode.DUPLICATE_EXTERNAL_ID == "duplicate_external_id"


def test_every_auth_error_has_a_kind_from_the_vocabulary():
    """The kinds the errors carry are ErrorKind members (what audit events and the API show)."""
    errors = [AuthError("x"), TransientError("x"), InvalidGrant("x"),
              AuthError("x", kind=ErrorKind.VERIFY_FAILED)]
    assert all(isinstance(e.kind, ErrorKind) for e in errors)
    assert [e.kind.value for e in errors] == ["error", "unavailable", "invalid_grant",
                                              "verify_failed"]
