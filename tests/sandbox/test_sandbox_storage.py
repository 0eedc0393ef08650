"""Nothing the sandbox issues or is given sits in plaintext in its tables or its logs."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from django.apps import apps
from django.db import connection
from django.test import Client

from sandbox import services
from sandbox.models import digest

from .conftest import (
    CALLBACK,
    VERIFIER,
    Registered,
    consent,
    exchange,
    get_code,
    query,
    token_request,
    whoami,
)
from .test_oauth1 import AUTHORIZE, access_token, me_headers, request_token


def form_fields(response) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(response.content.decode()).items()}


def every_flow(client) -> list[str]:
    """Run every sandbox flow once; return every secret value that went through it."""
    services.create_user(username="sandy", password="fake-password-123",
                         api_key="fake-api-key-123")
    oauth2 = Registered(*services.register_client(name="App", redirect_uri=CALLBACK))
    consumer = Registered(*services.register_client(name="App1", redirect_uri=CALLBACK,
                                                    kind="oauth1"))
    # "plain" PKCE: the stored challenge *is* the verifier.
    code = get_code(client, oauth2.client_id, code_challenge=VERIFIER,
                    code_challenge_method="plain")
    first = exchange(client, oauth2, code).json()
    second = token_request(client, oauth2, grant_type="refresh_token",
                           refresh_token=first["refresh_token"]).json()
    machine = token_request(client, oauth2, grant_type="client_credentials").json()
    assert whoami(client, Authorization=f"Bearer {second['access_token']}").status_code == 200

    issued = form_fields(request_token(client, consumer))
    location = consent(client, f"{AUTHORIZE}?oauth_token={issued['oauth_token']}")["Location"]
    verifier = query(location)["oauth_verifier"]
    access = form_fields(access_token(client, consumer, issued["oauth_token"],
                                      issued["oauth_token_secret"], verifier))
    headers = me_headers(consumer, access["oauth_token"], access["oauth_token_secret"])
    assert whoami(client, **headers).status_code == 200
    assert whoami(client, **{"X-API-Key": "fake-api-key-123"}).status_code == 200

    app_secrets = app_installation_flow(client)
    return [oauth2.secret, consumer.secret, code, VERIFIER, "fake-password-123",
            "fake-api-key-123", first["access_token"], first["refresh_token"],
            second["access_token"], second["refresh_token"], machine["access_token"],
            issued["oauth_token"], issued["oauth_token_secret"], verifier,
            access["oauth_token"], access["oauth_token_secret"], *app_secrets]


def app_installation_flow(client) -> list[str]:
    """Install a GitHub-style app, buy an installation token with an app JWT, use it; return
    the app JWT and the token."""
    import time

    from joserfc import jwt
    from joserfc.jwk import RSAKey

    from sandbox import apps_flow

    app, private_key = apps_flow.register_app(name="GH App", slug="gh-app", setup_url=CALLBACK)
    page = f"/sandbox/apps/{app.slug}/installations/new?state=fake-state"
    location = client.post(page, {"decision": "install"})["Location"]
    installation_id = query(location)["installation_id"]
    now = int(time.time())
    app_jwt = jwt.encode({"alg": "RS256"}, {"iss": str(app.pk), "iat": now - 60,
                                            "exp": now + 540}, RSAKey.import_key(private_key))
    answer = client.post(f"/sandbox/app/installations/{installation_id}/access_tokens",
                         headers={"Authorization": f"Bearer {app_jwt}"}).json()
    assert whoami(client, Authorization=f"Bearer {answer['token']}").status_code == 200
    return [app_jwt, answer["token"], private_key.splitlines()[1]]


def raw_dump() -> bytes:
    """Every column of every sandbox table, as the database returns it."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config("sandbox").get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        chunks.append(bytes(value))
                    else:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


def test_no_plaintext_secret_in_the_database(client, db):
    """Tokens, codes, verifiers, keys, passwords and secrets appear only hashed or encrypted."""
    secrets = every_flow(client)
    dump = raw_dump()
    for secret in secrets:
        assert secret.encode() not in dump, secret[:4]
    # The dump is the real thing: digests of what was issued are in it.
    assert digest(secrets[6]).encode() in dump and digest("fake-api-key-123").encode() in dump


def test_no_secret_in_the_logs(client, db, caplog):
    """With the root logger at DEBUG, no token, code, verifier, key or secret is logged."""
    caplog.set_level(logging.DEBUG)
    secrets = every_flow(client)
    for secret in secrets:
        assert secret not in caplog.text, secret[:4]


def test_admin_pages_show_no_secret(client, db):
    """Support staff see the sandbox's clients, users and tokens, never a secret or digest."""
    from accounts.models import User

    secrets = every_flow(client)
    staff = Client()
    staff.force_login(User.objects.create_superuser(email="staff@hatchway.test",
                                                    password="fake-staff-password"))
    pages = []
    for model in apps.get_app_config("sandbox").get_models():
        if model._meta.model_name == "oauth1nonce":
            continue  # not registered
        listing = staff.get(f"/admin/sandbox/{model._meta.model_name}/")
        assert listing.status_code == 200, model
        pages.append(listing.content.decode())
        first = model.objects.order_by("pk").first()
        detail = staff.get(f"/admin/sandbox/{model._meta.model_name}/{first.pk}/change/")
        assert detail.status_code == 200, model
        pages.append(detail.content.decode())
    text = "\n".join(pages)
    for secret in secrets:
        assert secret not in text and digest(secret) not in text, secret[:4]
    assert "sandy" in text and "App1" in text
