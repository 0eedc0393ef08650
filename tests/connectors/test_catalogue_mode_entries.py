"""Catalogue entries that use the issue 21 modes hold the facts their comments cite.

App Store Connect and Snowflake key pair mint tokens shaped as Apple's and Snowflake's docs
require (checked by decoding them with the public key); the two-step entries send the sign-in
body and carry the token as Tableau, Looker and BILL document; the service-account entries
keep Google's assertion shape; the MCP entry names Sentry's documented server.
"""

from __future__ import annotations

import time
import tomllib
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from connectors.auth import build_method
from connectors.auth.base import Context
from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR, validate
from tests.connectors.jwt_keys import ec_key, pem, public_pem, rsa_key


def spec(slug: str) -> ConnectorSpec:
    data = tomllib.loads((CATALOG_DIR / f"{slug}.toml").read_text())
    return ConnectorSpec.from_data(slug, validate(f"{slug}.toml", slug, data))


def mint(slug: str, **values: str) -> Any:
    token, _expires = build_method(Context(spec=spec(slug), values=values)).mint()
    return token


def test_app_store_connect_tokens_are_es256_with_kid_issuer_audience_and_under_20_minutes():
    key = ec_key()
    token = mint("app-store-connect", issuer_id="57246542-96fe-1a63-e053-0824d011072a",
                 key_id="2X9R4HXF34", private_key=pem(key))
    decoded = jwt.decode(token, ECKey.import_key(public_pem(key)), algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256" and decoded.header["kid"] == "2X9R4HXF34"
    assert decoded.claims["iss"] == "57246542-96fe-1a63-e053-0824d011072a"
    assert decoded.claims["aud"] == "appstoreconnect-v1"
    assert 0 < decoded.claims["exp"] - decoded.claims["iat"] <= 20 * 60
    assert abs(decoded.claims["iat"] - time.time()) < 5
    assert spec("app-store-connect").api.base_url == "https://api.appstoreconnect.apple.com/v1"


def test_snowflake_key_pair_tokens_name_account_user_and_fingerprint():
    key = rsa_key()
    fingerprint = "SHA256:" + "A" * 43 + "="
    token = mint("snowflake-key-pair", account="MYORG-MYACCOUNT", user="SVC_FAKE",
                 public_key_fp=fingerprint, private_key=pem(key))
    decoded = jwt.decode(token, RSAKey.import_key(public_pem(key)), algorithms=["RS256"])
    assert decoded.claims["iss"] == f"MYORG-MYACCOUNT.SVC_FAKE.{fingerprint}"
    assert decoded.claims["sub"] == "MYORG-MYACCOUNT.SVC_FAKE"
    assert decoded.claims["exp"] - decoded.claims["iat"] <= 3600
    api = spec("snowflake-key-pair").api
    assert api.headers["X-Snowflake-Authorization-Token-Type"] == "KEYPAIR_JWT"


def test_the_two_step_entries_sign_in_and_carry_the_token_as_documented():
    tableau = spec("tableau").auth
    assert tableau.token_url == "{base_url}/api/3.27/auth/signin"
    assert tableau.token_request.body == {"credentials": {
        "personalAccessTokenName": "{pat_name}", "personalAccessTokenSecret": "{pat_secret}",
        "site": {"contentUrl": "{site}"}}}
    assert (tableau.token_path, tableau.token_header, tableau.token_prefix) == (
        "credentials.token", "X-Tableau-Auth", "")
    assert tableau.captures == {"site_id": "credentials.site.id"}

    looker = spec("looker").auth
    assert looker.token_request.body_format == "form"
    assert looker.token_request.body == {"client_id": "{client_id}",
                                         "client_secret": "{client_secret}"}
    assert (looker.token_path, looker.token_header, looker.token_prefix) == (
        "access_token", "Authorization", "token ")

    bill = spec("bill")
    assert bill.auth.token_url == "https://gateway.prod.bill.com/connect/v3/login"
    assert set(bill.auth.token_request.body) == {"username", "password", "organizationId",
                                                 "devKey"}
    assert (bill.auth.token_path, bill.auth.token_header, bill.auth.token_prefix) == (
        "sessionId", "sessionId", "")
    assert bill.api.headers == {"devKey": "{dev_key}"}
    # The 35-minute idle limit: the session is renewed well before it.
    assert bill.auth.default_expires_in is not None and bill.auth.default_expires_in < 35 * 60


def test_the_google_service_account_entries_keep_googles_assertion_shape():
    for slug, scope in [("google-service-account-sheets",
                         "https://www.googleapis.com/auth/spreadsheets.readonly"),
                        ("google-service-account-bigquery",
                         "https://www.googleapis.com/auth/bigquery.readonly")]:
        auth = spec(slug).auth
        assert auth.token_url == "https://oauth2.googleapis.com/token"
        assert (auth.algorithm, auth.assertion_lifetime) == ("RS256", 3600)
        assert auth.claims["iss"] == "{client_email}" and scope in auth.scopes


def test_sentry_mcp_names_the_server_sentry_documents():
    auth = spec("sentry-mcp").auth
    assert auth.server_url == "https://mcp.sentry.dev/mcp"
    assert (auth.discovery, auth.registration) == ("protected_resource", "dynamic")
