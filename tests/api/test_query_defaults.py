"""ApiView.query: a request with no query parameters gets its serializer's defaults,
worked out once per serializer (`no_parameters`) -- which holds only while every query
serializer's defaults are constants. A request with parameters is validated as before
(tests/api/test_credentials.py: `?force_refresh=maybe` is a 400, `=true` refreshes)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from rest_framework import serializers
from rest_framework.fields import empty

from api import serializers as shapes
from api.views import ApiView, no_parameters

QUERIES = [cls for _, cls in inspect.getmembers(shapes, inspect.isclass)
           if issubclass(cls, serializers.Serializer) and cls.__name__.endswith("Query")]


def test_the_api_has_query_serializers():
    assert {"CredentialsQuery", "EventQuery", "AccountQuery"} <= {q.__name__ for q in QUERIES}


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.__name__)
def test_every_query_default_is_a_constant(query):
    for name, field in query().fields.items():
        assert field.default is empty or not callable(field.default), (
            f"{query.__name__}.{name}: a callable default would be worked out only once")


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.__name__)
def test_no_parameters_is_what_validating_none_gives(query):
    validated = query(data={})
    assert validated.is_valid()
    assert no_parameters(query) == dict(validated.validated_data)


def test_callers_get_their_own_copy():
    view = ApiView()
    view.request = SimpleNamespace(query_params={})
    mine = view.query(shapes.CredentialsQuery)
    mine["force_refresh"] = True
    assert view.query(shapes.CredentialsQuery) == {"force_refresh": False}

