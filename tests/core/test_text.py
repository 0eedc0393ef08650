"""core.text: names without hidden characters, external ids that cannot pass for another."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core import text


@pytest.mark.parametrize("name", ["Acme Cloud", "Café Münster", "東京オフィス", "O'Brien & Co."])
def test_ordinary_names_pass(name):
    assert not text.has_hidden_characters(name)
    text.validate_name(name)


@pytest.mark.parametrize("name", ["Acme\u202egnp.exe", "line\nbreak", "tab\there", "esc\x1b[31m",
                                  "iso\u2066late", "mark\u200f", "sep\u2028arated"])
def test_hidden_characters_are_refused(name):
    assert text.has_hidden_characters(name)
    with pytest.raises(ValidationError, match="text-direction overrides") as refused:
        text.validate_name(name)
    assert refused.value.code == "hidden_characters"


def test_external_id_problems_are_named():
    assert text.external_id_problem("cust-42_é") is None
    assert text.external_id_problem("a/b") == "contains “/”"
    assert text.external_id_problem("a\x00b") == "contains the control character U+0000"
    assert text.external_id_problem("a\u200bb") == (
        "contains the invisible formatting character U+200B")
    with pytest.raises(ValidationError) as refused:
        text.validate_external_id("a\ufeffb")
    assert refused.value.code == "invalid_external_id"
    text.validate_external_id("cust-1")


def test_external_ids_are_compared_in_nfc():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert text.normal_external_id(decomposed) == composed
    assert text.external_id_forms(decomposed) == [decomposed, composed]
    assert text.external_id_forms(composed) == [composed, decomposed]
    assert text.external_id_forms("plain") == ["plain"]
