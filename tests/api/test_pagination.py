"""api.pagination: newest-first cursor pages, and a cursor the list never gave out is a 400."""

from __future__ import annotations

from base64 import b64encode
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.models import Partner
from api.pagination import INVALID_CURSOR, MAX_ID, Cursor

pytestmark = pytest.mark.django_db


def page(query: dict[str, str]) -> tuple[list[int], str | None]:
    paginator = Cursor()
    request = Request(APIRequestFactory().get("/api/v1/things", query))
    rows = paginator.paginate_queryset(Partner.objects.all(), request)
    return [p.pk for p in rows], paginator.get_paginated_response([]).data["next"]


@pytest.fixture
def partners(db) -> list[int]:
    return [Partner.objects.create(name=f"P{n}", slug=f"p{n}").pk for n in range(5)]


def cursor_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["cursor"][0]


def test_pages_run_newest_first_without_repeats(partners):
    first, next_link = page({"limit": "2"})
    assert first == sorted(partners, reverse=True)[:2]
    second, next_link = page({"limit": "2", "cursor": cursor_of(next_link)})
    third, last = page({"limit": "2", "cursor": cursor_of(next_link)})
    assert first + second + third == sorted(partners, reverse=True)
    assert last is None


def test_the_limit_is_capped(partners):
    paginator = Cursor()
    request = Request(APIRequestFactory().get("/api/v1/things", {"limit": "100000"}))
    assert paginator.get_page_size(request) == Cursor.max_page_size


def encoded(text: str) -> str:
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    "not base64!", encoded("o=-1"), encoded("r=2"), encoded("p=abc"), encoded("p=0"),
    encoded(f"p={MAX_ID + 1}"), encoded("p=1\x00"), encoded("o=x"), encoded("junk"),
])
def test_a_cursor_never_handed_out_is_refused(partners, cursor):
    with pytest.raises(ValidationError) as refused:
        page({"cursor": cursor})
    assert refused.value.detail == {"cursor": [INVALID_CURSOR]}


def test_a_valid_position_is_accepted(partners):
    ids, _ = page({"cursor": encoded(f"p={max(partners)}")})
    assert ids == sorted(partners, reverse=True)[1:]
