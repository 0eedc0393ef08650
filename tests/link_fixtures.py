"""Fixtures for the install link tests (tests/links/, tests/security/): an account whose
partner allowlists a return origin, and a configured OAuth 2.0 connector. A plugin of the
root conftest, so every folder's link tests share them."""

from __future__ import annotations

import pytest

from tests.factories import account, connector


@pytest.fixture
def acct(partner):
    partner.allowed_return_origins = ["https://app.acme.test"]
    partner.save()
    return account(partner)


@pytest.fixture
def crm(partner):
    return connector("crm-one", "CRM One", partner)
