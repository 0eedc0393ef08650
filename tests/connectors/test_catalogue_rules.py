"""Issue 22 item 5: rules every catalogue entry is held to.

Complements test_catalog.py (which already checks https endpoints, site and docs links,
anchored patterns and templated hosts): here every URL-like value anywhere in an entry is
https, every `{placeholder}` (verify paths and headers included) names a declared field, a
file whose comments talk about revocation either declares a revoke_url or says why not,
every entry has a verify request or says why not (item 4), every pattern accepts the
examples its field's help gives, and no provider is in twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.schema import JWT_SCOPES_PLACEHOLDER, PLACEHOLDER_RE, ConnectorSpec
from tests.connectors.catalogue import CATALOG, comments

SLUGS = sorted(CATALOG)
REAL = [slug for slug in SLUGS if not slug.startswith("sandbox-")]
BUILTIN = {"public_url"}


def strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in an entry's data, with its dotted path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in strings(item, f"{path}.{key}")]
    if isinstance(value, (list, tuple)):
        return [pair for i, item in enumerate(value) for pair in strings(item, f"{path}[{i}]")]
    return []


# --- URLs are https -----------------------------------------------------------------------

def url_values(slug: str) -> list[tuple[str, str]]:
    """Values that are URLs: *_url keys, website, api_docs and a whole-URL verify."""
    data = CATALOG[slug]
    found = [(path, value) for path, value in strings(data)
             if path.rsplit(".", 1)[-1] in {"website", "api_docs"} or path.endswith("_url")]
    verify = data.get("api", {}).get("verify", "")
    if verify and not verify.split(" ", 1)[1].startswith("/"):
        found.append((".api.verify", verify.split(" ", 1)[1]))
    return [(path, value) for path, value in found if value]


@pytest.mark.parametrize("slug", REAL)
def test_every_url_is_https(slug):
    """No http:// (or other scheme) anywhere: endpoints, links and whole-URL verify requests.
    A URL may start with a captured https origin placeholder (checked by test_catalog)."""
    for path, value in url_values(slug):
        assert value.startswith("https://") or re.match(r"^\{[a-z_]+\}", value), (
            f"{slug}{path}: {value}")
    for path, value in strings(CATALOG[slug]):
        assert "http://" not in value, f"{slug}{path} names a plain-http URL"


def test_the_url_rule_catches_a_plain_http_verify():
    bad = {**CATALOG["dialpad"], "api": {**CATALOG["dialpad"]["api"],
                                         "verify": "GET http://dialpad.com/api/v2/company"}}
    CATALOG["_bad"] = bad
    try:
        with pytest.raises(AssertionError):
            test_every_url_is_https("_bad")
    finally:
        del CATALOG["_bad"]


# --- placeholders are declared -------------------------------------------------------------

def placeholder_uses(data: dict[str, Any]) -> list[tuple[str, str]]:
    """`{name}`s in the [auth] and [api] tables (guides and help may show braces as text)."""
    uses = strings(data.get("auth", {}), ".auth") + strings(data.get("api", {}), ".api")
    return [(path, name) for path, value in uses for name in PLACEHOLDER_RE.findall(value)]


@pytest.mark.parametrize("slug", SLUGS)
def test_every_placeholder_names_a_declared_field(slug):
    """Including the verify path and headers, which a relative verify leaves unchecked by
    the schema's URL rules."""
    keys = {field["key"] for field in CATALOG[slug]["fields"]} | BUILTIN
    for path, name in placeholder_uses(CATALOG[slug]):
        if path.startswith(".auth.claims.") and name == JWT_SCOPES_PLACEHOLDER:
            continue  # jwt_bearer: the chosen scopes, not a field
        assert name in keys, f"{slug}{path}: {{{name}}} is not a declared field"


def test_the_placeholder_rule_catches_an_undeclared_key_in_a_verify_path():
    data = {**CATALOG["dialpad"], "api": {**CATALOG["dialpad"]["api"],
                                          "verify": "GET /company/{company_id}"}}
    names = [name for _, name in placeholder_uses(data)]
    assert names == ["company_id"]
    assert "company_id" not in {field["key"] for field in data["fields"]}


# --- revocation docs imply a revoke_url ------------------------------------------------------

REVOCATION_TALK = re.compile(r"revok|revocation", re.IGNORECASE)
WHY_NOT = re.compile(r"no revoke_url|no revocation endpoint", re.IGNORECASE)


def revoke_rule_holds(slug: str, text: str) -> bool:
    auth = CATALOG[slug]["auth"]
    return (not REVOCATION_TALK.search(text) or bool(auth.get("revoke_url"))
            or bool(WHY_NOT.search(text)))


@pytest.mark.parametrize("slug", REAL)
def test_revocation_in_the_comments_means_a_revoke_url_or_a_reason(slug):
    """A file whose comments cite revocation declares revoke_url, or says in so many words
    ("no revoke_url", "no revocation endpoint") why it does not."""
    assert revoke_rule_holds(slug, comments(slug)), (
        f"{slug}: comments discuss revocation but no revoke_url is declared and no reason given")


def test_the_revoke_rule_catches_a_cited_but_undeclared_endpoint():
    assert not revoke_rule_holds("miro", "# Revoke: https://developers.miro.com/revoke")
    assert revoke_rule_holds("miro", "# Revoke: https://x.example, so no revoke_url.")
    assert revoke_rule_holds("salesforce", "# Revoke: https://help.salesforce.com/revoke")


# --- a verify request, or the reason there is none (item 4) ---------------------------------

VERIFY_TALK = re.compile(r"verif", re.IGNORECASE)


def verify_rule_holds(slug: str, text: str) -> bool:
    return bool(CATALOG[slug].get("api", {}).get("verify")) or bool(VERIFY_TALK.search(text))


@pytest.mark.parametrize("slug", REAL)
def test_every_entry_has_a_verify_request_or_says_why_not(slug):
    """A connector proves new credentials with a cheap request; where the provider has none
    (only POSTs, no read every grant allows), the file's comments say so."""
    assert verify_rule_holds(slug, comments(slug)), (
        f"{slug}: no [api] verify request, and no comment saying why")


def test_the_verify_rule_catches_a_silent_entry_without_one():
    assert not verify_rule_holds("paypal", "# Token: https://developer.paypal.com/api/rest/")
    assert verify_rule_holds("paypal", "# No verify request: the token request is the check.")
    assert verify_rule_holds("salesforce", "")  # declares one


# --- patterns accept the examples in the help ---------------------------------------------

def help_examples(text: str) -> list[str]:
    """The values a help text gives after "e.g.": each alternative's first word, up to the
    first ; or ) (e.g. "e.g. 1234567, 1234567_SB1 for a sandbox or TSTDRV1 …")."""
    found = []
    for match in re.finditer(r"e\.g\.\s+([^;)]*)", text):
        for part in re.split(r",\s+|\s+or\s+", match.group(1)):
            word = part.strip().split(" ")[0].rstrip(".,:")
            if word:
                found.append(word)
    return found


def test_help_examples_are_read_as_values():
    assert help_examples("Account ID, e.g. 1234567, 1234567_SB1 for a sandbox or "
                         "TSTDRV1234567 for a test drive.") == [
        "1234567", "1234567_SB1", "TSTDRV1234567"]
    assert help_examples("returned (e.g. https://www.zohoapis.eu).") == [
        "https://www.zohoapis.eu"]


@pytest.mark.parametrize("slug", SLUGS)
def test_patterns_accept_the_examples_in_their_help(slug):
    for field in CATALOG[slug]["fields"]:
        if not field.get("pattern"):
            continue
        for example in help_examples(field["help"]):
            assert re.fullmatch(field["pattern"], example), (
                f"{slug}: {field['key']} refuses its own help's example {example!r}")


# --- no provider twice --------------------------------------------------------------------

def identity(slug: str) -> tuple[Any, ...]:
    """Same auth method, endpoints, API base, key placement and scopes = the same app."""
    spec = ConnectorSpec.from_data(slug, CATALOG[slug])
    auth = spec.auth
    return (auth.type, auth.authorize_url, auth.token_url, auth.request_token_url,
            auth.header, auth.query_param, tuple(sorted(auth.scopes)), spec.api.base_url,
            auth.issuer, auth.server_url)  # discovered endpoints: the issuer or MCP server


def normalised_name(slug: str) -> str:
    return re.sub(r"[^a-z0-9]", "", CATALOG[slug]["name"].lower())


def test_no_provider_is_listed_under_two_slugs():
    """Two slugs may not share a name, nor the same endpoints and scopes (a copy made to raise
    the count); regional and sandbox variants differ in their hosts."""
    seen_names: dict[str, str] = {}
    seen_apps: dict[tuple[Any, ...], str] = {}
    for slug in REAL:
        name, app = normalised_name(slug), identity(slug)
        assert name not in seen_names, f"{slug} and {seen_names[name]} share a name"
        assert app not in seen_apps, f"{slug} duplicates {seen_apps[app]}"
        seen_names[name], seen_apps[app] = slug, slug


def test_the_duplicate_rule_catches_a_copy_under_another_slug():
    CATALOG["wrike-copy"] = {**CATALOG["wrike"], "name": "Wrike (copy)"}
    REAL.append("wrike-copy")
    try:
        with pytest.raises(AssertionError, match="duplicates"):
            test_no_provider_is_listed_under_two_slugs()
    finally:
        REAL.remove("wrike-copy")
        del CATALOG["wrike-copy"]
