"""`page_of`: Django's pages, with the total read beside the rows (one query, not two)."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator

from accounts.models import Partner
from core.paging import page_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def partners(db):
    Partner.objects.bulk_create(Partner(name=f"P{n:02}", slug=f"p{n:02}") for n in range(25))
    return Partner.objects.order_by("slug")


def test_a_page_with_rows_is_one_query(partners, django_assert_num_queries):
    """Rows and total in one round trip; the page answers like Django's."""
    with django_assert_num_queries(1):
        page = page_of(partners, "2", 10)
        slugs = [p.slug for p in page]
    assert slugs == [f"p{n:02}" for n in range(10, 20)]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (2, 25, 3)
    assert page.has_next() and page.has_previous() and page.start_index() == 11


@pytest.mark.parametrize("number", ["999", "-1", "0", "abc", None, "2.5", str(2**63 // 10),
                                    str(2**63), "9" * 60])
def test_other_page_numbers_answer_exactly_like_get_page(partners, number):
    """Past the end (also beyond the database's integers), negative, zero or not a number:
    the same page Django would give."""
    expected = Paginator(partners, 10).get_page(number)
    page = page_of(partners, number, 10)
    assert page.number == expected.number
    assert [p.slug for p in page] == [p.slug for p in expected]


def test_an_empty_list_is_page_one_in_one_query(db, django_assert_num_queries):
    """No rows at all: page 1 of 1, empty (Django's allow_empty_first_page), no COUNT."""
    with django_assert_num_queries(1):
        page = page_of(Partner.objects.order_by("pk"), "1", 10)
        assert (page.number, page.paginator.count, page.paginator.num_pages) == (1, 0, 1)
        assert list(page) == []


def test_past_the_end_of_an_empty_list_costs_two_queries(db, django_assert_num_queries):
    """Page 3 of nothing: the page, then the COUNT that finds page 1 -- and no third."""
    with django_assert_num_queries(2):
        page = page_of(Partner.objects.order_by("pk"), "3", 10)
        assert (page.number, list(page)) == (1, [])
