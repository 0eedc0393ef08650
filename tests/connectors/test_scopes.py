"""Scopes per partner and per install (issue 20 §2): the catalogue's `optional_scopes`,
Authentication Settings' Scopes, and what a sign-in's authorize request asks for."""

from __future__ import annotations

import copy

import pytest

from connectors.spec import CatalogError, parse

BODY = {"name": "Acme", "description": "A connector with optional scopes.",
        "auth": {"type": "oauth2", "authorize_url": "https://acme.example.com/authorize",
                 "token_url": "https://acme.example.com/token", "scopes": ["read"],
                 "optional_scopes": [{"scope": "write", "description": "Change records"}]},
        "fields": [{"key": "client_id", "label": "Client ID"}]}


def test_the_catalogue_declares_optional_scopes():
    spec = parse("body", copy.deepcopy(BODY))
    assert [(o.scope, o.description) for o in spec.auth.optional_scopes] == [
        ("write", "Change records")]


@pytest.mark.parametrize("scope", ["two words", 'quo"te', "back\\slash", "", "caf\u00e9"])
def test_an_optional_scope_must_be_an_rfc_6749_scope_token(scope):
    bad = copy.deepcopy(BODY)
    bad["auth"]["optional_scopes"][0]["scope"] = scope
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes\[0\]\.scope"):
        parse("body", bad)


def test_a_default_scope_must_be_a_scope_token_too():
    bad = copy.deepcopy(BODY)
    bad["auth"]["scopes"] = ["read write"]
    with pytest.raises(CatalogError, match=r"auth\.scopes"):
        parse("body", bad)


def test_an_optional_scope_listed_twice_or_as_a_default_is_refused():
    bad = copy.deepcopy(BODY)
    bad["auth"]["optional_scopes"].append({"scope": "read", "description": "Again"})
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes\[1\]\.scope: 'read'"):
        parse("body", bad)


def test_optional_scopes_apply_to_oauth2_only():
    bad = {"name": "Key", "description": "An API key connector.",
           "auth": {"type": "api_key", "header": "X-Key",
                    "optional_scopes": [{"scope": "write", "description": "Change"}]},
           "fields": [{"key": "api_key", "label": "API key", "level": "account"}]}
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes: does not apply"):
        parse("body", bad)
