"""HTTP side of the sandbox: thin adapters between Django requests and oauthlib's endpoints.

Server-to-server endpoints (token, revoke, request token, access token, whoami) are
CSRF-exempt: they authenticate the client, not a browser session. The consent pages
are ordinary CSRF-protected forms.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST
from oauthlib.common import Request, add_params_to_uri
from oauthlib.oauth1.rfc5849 import errors as oauth1_errors
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from . import apps_flow, oauth1, oauth2, services
from .models import SCOPES, OAuth1Token, SandboxApp, SandboxClient, SandboxUser, digest
from .oauth2 import SandboxServer, decode_basic
from .services import (
    JWT_BEARER_GRANT,
    JWT_BEARER_LIFETIME,
    JWT_BEARER_PATH,
    TWO_STEP_LIFETIME,
    acting_user,
    register_client,
    two_step_sign_in,
    two_step_user,
)

# oauthlib endpoints keep no per-request state on themselves: one server serves all.
server = SandboxServer()

OAuthArgs = tuple[str, str, str, dict[str, str]]


class BadRequest(Exception):
    """The request cannot even be handed to oauthlib (undecodable body or query)."""


def oauthlib_args(request: HttpRequest) -> OAuthArgs:
    """(uri, method, body, headers) as oauthlib wants them; the URI is the one requested,
    which is what an OAuth 1.0a client signed."""
    try:
        body = request.body.decode("utf-8")
        uri = request.build_absolute_uri()
    except UnicodeDecodeError as error:
        raise BadRequest from error
    headers = {name: value for name, value in request.headers.items() if name != "Cookie"}
    return uri, request.method or "GET", body, headers


def oauthlib_response(headers: dict[str, str], body: str | None, status: int) -> HttpResponse:
    response = HttpResponse(body or "", status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def server_to_server(view: Callable[[HttpRequest], HttpResponse]
                     ) -> Callable[[HttpRequest], HttpResponse]:
    """A client-to-server endpoint: POST only, never cached, CSRF-exempt (the client
    authenticates, not a browser session), its POST body kept out of error reports."""
    return csrf_exempt(never_cache(require_POST(sensitive_post_parameters()(view))))


def popup_friendly(view: Callable[[HttpRequest], HttpResponse]
                   ) -> Callable[[HttpRequest], HttpResponse]:
    """Consent pages keep `window.opener`, as a third party's sign-in pages do: a partner
    that opens an install link as a popup (links/) gets its message at the end. The site's
    own `Cross-Origin-Opener-Policy: same-origin` would sever the opener here."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        response = view(request)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response

    return wrapper


def redirect_to(location: str) -> HttpResponse:
    # Not HttpResponseRedirect: a registered redirect URI may use any scheme.
    return oauthlib_response({"Location": location}, None, 302)


def json_error(error: str, description: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def error_page(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "sandbox/error.html", {"message": message}, status=status)


def consent_page(request: HttpRequest, *, client: SandboxClient, scopes: list[str],
                 user: SandboxUser, protocol: str) -> HttpResponse:
    scope_rows = [(scope, SCOPES.get(scope, scope)) for scope in scopes]
    return render(request, "sandbox/consent.html", {
        "client": client, "scopes": scope_rows, "sandbox_user": user, "protocol": protocol,
        "action": request.get_full_path(),
    })


# -- OAuth 2.0 ------------------------------------------------------------------------


@popup_friendly
@never_cache
@require_http_methods(["GET", "POST"])
def oauth2_authorize(request: HttpRequest) -> HttpResponse:
    """GET: the consent page. POST (the page's form): Allow → code; Deny → access_denied."""
    uri = request.build_absolute_uri()
    try:
        scopes, credentials = server.validate_authorization_request(uri, "GET", None, {})
    except oauth2_errors.FatalClientError as error:
        # Unknown client or redirect URI: say so here, never redirect (RFC 6749 §4.1.2.1).
        return error_page(request, error.description)
    except oauth2_errors.OAuth2Error as error:
        if not error.redirect_uri:
            return error_page(request, error.description)
        return redirect_to(error.in_uri(error.redirect_uri))
    except ValueError:
        return error_page(request, "The authorization request could not be read.")
    user = acting_user()
    if request.method == "GET":
        return consent_page(request, client=credentials["request"].client, scopes=scopes,
                            user=user, protocol="OAuth 2.0")
    decision = request.POST.get("decision")
    if decision == "deny":
        denied = oauth2_errors.AccessDeniedError(state=credentials["state"])
        return redirect_to(denied.in_uri(credentials["redirect_uri"]))
    if decision != "allow":
        return error_page(request, "Choose Allow or Deny.")
    try:
        headers, body, status = server.create_authorization_response(
            uri, "GET", None, {}, scopes=scopes, credentials={"user": user})
    except oauth2_errors.FatalClientError as error:
        return error_page(request, error.description)
    return oauthlib_response(headers, body, status)


def oauth2_call(request: HttpRequest,
                create_response: Callable[..., tuple[dict[str, str], str, int]]) -> HttpResponse:
    """Run a client's request through the token or revocation endpoint."""
    try:
        uri, method, body, headers = oauthlib_args(request)
    except BadRequest:
        return json_error("invalid_request", "The request body is not UTF-8.")
    return oauthlib_response(*create_response(uri, method, body, headers))


@server_to_server
def oauth2_token(request: HttpRequest) -> HttpResponse:
    return oauth2_call(request, server.create_token_response)


@server_to_server
def oauth2_revoke(request: HttpRequest) -> HttpResponse:
    return oauth2_call(request, server.create_revocation_response)


# -- Two-step sign-in -----------------------------------------------------------------


@server_to_server
def two_step_signin(request: HttpRequest) -> HttpResponse:
    """A JSON sign-in (Tableau's PAT style): {"name", "secret"} -> a session token."""
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return json_error("invalid_request", "Send a JSON object with name and secret.")
    name, secret = body.get("name"), body.get("secret")
    token = (two_step_sign_in(username=name, api_key=secret)
             if isinstance(name, str) and isinstance(secret, str) else None)
    if token is None:
        return json_error("invalid_credentials", "The name or secret is wrong.", status=401)
    return JsonResponse({"credentials": {"token": token, "user": {"name": name}},
                         "expires_in": TWO_STEP_LIFETIME})


# -- GitHub-style app installations ---------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def app_install(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the install page. POST (Install): a new installation, then back to the app's
    setup URL with `installation_id`, `setup_action=install` and the `state` given. Like
    the consent pages, it keeps `window.opener` (`popup_friendly`)."""
    response = _app_install(request, slug)
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


def _app_install(request: HttpRequest, slug: str) -> HttpResponse:
    app = SandboxApp.objects.filter(slug=slug).first()
    if app is None:
        return error_page(request, "There is no such app.", status=404)
    user = acting_user()
    if request.method == "GET":
        return render(request, "sandbox/install_app.html", {
            "app": app, "sandbox_user": user, "action": request.get_full_path()})
    if request.POST.get("decision") != "install":
        return error_page(request, "Choose Install.")
    installation = apps_flow.install(app, user)
    params = [("installation_id", str(installation.pk)), ("setup_action", "install")]
    if app.client is not None:  # the installer is authorized too (GitHub's OAuth option)
        params.insert(0, ("code", apps_flow.installer_code(app, user)))
    state = request.GET.get("state")
    if state:
        params.append(("state", state))
    return redirect_to(add_params_to_uri(app.setup_url, params))


def github_message(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@csrf_exempt
@never_cache
@require_POST
@sensitive_variables("jwt_token")
def app_access_tokens(request: HttpRequest, installation_id: str) -> HttpResponse:
    """`POST /app/installations/{id}/access_tokens` with the app JWT as Bearer: 201 with
    `token` and `expires_at`; 401 for a JWT that does not verify; 404 for an installation
    of another app, or removed."""
    scheme, _, jwt_token = request.headers.get("Authorization", "").partition(" ")
    app = apps_flow.verified_app(jwt_token) if scheme.lower() == "bearer" else None
    if app is None:
        return github_message("A JSON web token could not be decoded", 401)
    issued = apps_flow.issue_installation_token(app, installation_id)
    if issued is None:
        return github_message("Not Found", 404)
    token, expires_at = issued
    return JsonResponse({"token": token, "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "permissions": {"metadata": "read"}, "repository_selection": "all"},
                        status=201)


@server_to_server
def app_installer_token(request: HttpRequest) -> HttpResponse:
    """GitHub's `POST /login/oauth/access_token`: the code, client id and secret -> a user
    token. GitHub needs no `grant_type`; oauthlib does, so it is added here."""
    def create(uri: str, method: str, body: str, headers: dict[str, str]
               ) -> tuple[dict[str, str], str, int]:
        if "grant_type=" not in body:
            body = f"{body}&grant_type=authorization_code" if body else (
                "grant_type=authorization_code")
        # The stubs want the method as a Literal; oauthlib takes the request's str as it is.
        answer: tuple[dict[str, str], str, int] = server.create_token_response(
            uri, method, body, headers)  # type: ignore[arg-type]
        return answer

    return oauth2_call(request, create)


@csrf_exempt
@never_cache
@require_http_methods(["GET"])
def app_user_installations(request: HttpRequest) -> HttpResponse:
    """GitHub's `GET /user/installations` with a user token: the app's installations that
    user made."""
    valid, oauth_request = server.verify_request(
        *oauthlib_args(request), scopes=[])  # type: ignore[arg-type]
    if not valid:
        return github_message("Bad credentials", 401)
    token = cast(oauth2.SandboxRequest, oauth_request).sandbox_token
    installations = apps_flow.installations_of(token)
    listed = [{"id": i.pk, "app_id": i.app_id} for i in installations]
    return JsonResponse({"total_count": len(listed), "installations": listed})


@csrf_exempt
@never_cache
@require_http_methods(["DELETE"])
@sensitive_variables("token")
def app_revoke_token(request: HttpRequest) -> HttpResponse:
    """`DELETE /installation/token` with the installation token as Bearer: 204, or 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "token") or not apps_flow.revoke_installation_token(token):
        return github_message("Bad credentials", 401)
    return HttpResponse(status=204)


# -- JWT bearer grant (RFC 7523 §2.1) --------------------------------------------------


@server_to_server
def jwt_bearer_token(request: HttpRequest) -> HttpResponse:
    """A service account's signed assertion -> an access token (verified against the
    public key registered with `services.register_service_account`)."""
    if request.POST.get("grant_type") != JWT_BEARER_GRANT:
        return json_error("unsupported_grant_type", "Use the JWT bearer grant type.")
    assertion = request.POST.get("assertion", "")
    if not assertion:
        return json_error("invalid_request", "Send the signed assertion.")
    try:
        token = services.jwt_bearer_token(assertion, scope=request.POST.get("scope", ""),
                                          audience=settings.PUBLIC_URL + JWT_BEARER_PATH)
    except services.AssertionRefused as refused:
        return json_error(refused.error, refused.description)
    return JsonResponse({"access_token": token, "token_type": "Bearer",
                         "expires_in": JWT_BEARER_LIFETIME})


# -- OAuth 1.0a -----------------------------------------------------------------------


def oauth1_call(request: HttpRequest, endpoint: str) -> HttpResponse:
    """Run a signed request through the request-token or access-token endpoint."""
    try:
        uri, method, body, headers = oauthlib_args(request)
        server1 = oauth1.endpoints()[endpoint]
        if endpoint == "request_token":
            response = server1.create_request_token_response(uri, method, body, headers)
        else:
            response = server1.create_access_token_response(uri, method, body, headers)
    except (BadRequest, ValueError):
        return HttpResponse("error=invalid_request", status=400,
                            content_type="application/x-www-form-urlencoded")
    return oauthlib_response(*response)


@server_to_server
def oauth1_request_token(request: HttpRequest) -> HttpResponse:
    return oauth1_call(request, "request_token")


@server_to_server
def oauth1_access_token(request: HttpRequest) -> HttpResponse:
    return oauth1_call(request, "access_token")


@popup_friendly
@never_cache
@require_http_methods(["GET", "POST"])
def oauth1_authorize(request: HttpRequest) -> HttpResponse:
    """GET: the consent page. POST: Allow → callback with the verifier; Deny → `denied=`."""
    uri = request.build_absolute_uri()
    token = request.GET.get("oauth_token", "")
    user = acting_user()
    endpoints = oauth1.endpoints(acting_user=user)
    try:
        realms, _ = endpoints["authorize"].get_realms_and_credentials(uri, "GET", None, {})
        if request.method == "GET":
            row = OAuth1Token.objects.select_related("client").get(
                kind=OAuth1Token.Kind.REQUEST, token_hash=digest(token))
            return consent_page(request, client=row.client, scopes=realms, user=user,
                                protocol="OAuth 1.0a")
        decision = request.POST.get("decision")
        if decision == "deny":
            validator = endpoints["authorize"].request_validator
            callback = validator.deny_request_token(token, Request(uri))
            return redirect_to(add_params_to_uri(callback, [("denied", token)]))
        if decision != "allow":
            return error_page(request, "Choose Allow or Deny.")
        response = endpoints["authorize"].create_authorization_response(uri, "GET", None, {})
    except (oauth1_errors.OAuth1Error, OAuth1Token.DoesNotExist):
        return error_page(request, "This authorization link is invalid, expired or already used.")
    except ValueError:
        return error_page(request, "The authorization request could not be read.")
    return oauthlib_response(*response)


# -- whoami ---------------------------------------------------------------------------


def identity(user: SandboxUser | None, auth: str, *, scope: str | None = None,
             client: SandboxClient | None = None) -> dict[str, Any]:
    if user is not None:
        data: dict[str, Any] = {"id": user.pk, "username": user.username, "auth": auth}
    else:  # a client-credentials token acts as the client itself
        assert client is not None  # a token without a user is its client's
        data = {"id": f"client:{client.client_id}", "username": client.name, "auth": auth}
    if scope is not None:
        data["scope"] = scope
    return data


def whoami_oauth2(request: HttpRequest) -> dict[str, Any] | None:
    # The stubs want the method as a Literal; oauthlib takes the request's str as it is.
    valid, oauth_request = server.verify_request(
        *oauthlib_args(request), scopes=[])  # type: ignore[arg-type]
    if not valid:
        return None
    token = cast(oauth2.SandboxRequest, oauth_request).sandbox_token
    return identity(token.user, "oauth2", scope=token.scope, client=token.client)


def whoami_oauth1(request: HttpRequest) -> dict[str, Any] | None:
    endpoint = oauth1.endpoints()["resource"]
    valid, oauth_request = endpoint.validate_protected_resource_request(
        *oauthlib_args(request), realms=[])
    if not valid:
        return None
    token: OAuth1Token = oauth_request.sandbox_access_token
    return identity(token.user, "oauth1", scope=token.realms)


@sensitive_variables("value", "pair")
def whoami_basic(request: HttpRequest) -> dict[str, Any] | None:
    _, _, value = request.headers["Authorization"].partition(" ")
    pair = decode_basic(value)
    user = SandboxUser.objects.filter(username=pair[0]).first() if pair else None
    if user is None or pair is None or not user.check_password(pair[1]):
        return None
    return identity(user, "basic")


@sensitive_variables("key")
def whoami_api_key(request: HttpRequest) -> dict[str, Any] | None:
    key = request.headers.get("X-API-Key") or request.GET.get("api_key") or ""
    user = SandboxUser.objects.filter(api_key_hash=digest(key)).first() if key else None
    return identity(user, "api_key") if user else None


@sensitive_variables("token")
def whoami_two_step(request: HttpRequest) -> dict[str, Any] | None:
    token = request.headers.get("X-Sandbox-Auth", "")
    user = two_step_user(token) if token else None
    return identity(user, "two_step") if user else None


@sensitive_variables("token")
def whoami_app_installation(request: HttpRequest) -> dict[str, Any] | None:
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    row = apps_flow.installation_token(token)
    if row is None:
        return None
    return {**identity(row.user, "app_installation"), "installation": row.scope}


def is_installation_token(request: HttpRequest) -> bool:
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.startswith("ghs_")


WHOAMI = {"bearer": whoami_oauth2, "oauth": whoami_oauth1, "basic": whoami_basic}


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def api_me(request: HttpRequest) -> HttpResponse:
    """Who the credentials belong to: OAuth 2.0 Bearer, OAuth 1.0a, X-API-Key or Basic."""
    scheme = request.headers.get("Authorization", "").split(" ", 1)[0].lower()
    if scheme == "bearer" and is_installation_token(request):
        check = whoami_app_installation
    elif scheme in WHOAMI:
        check = WHOAMI[scheme]
    elif "oauth_signature" in request.GET:
        check = whoami_oauth1
    elif "X-Sandbox-Auth" in request.headers:
        check = whoami_two_step
    elif "X-API-Key" in request.headers or "api_key" in request.GET:
        check = whoami_api_key
    else:
        return unauthorized("Send a Bearer token, an OAuth 1.0a signature, an X-API-Key "
                            "header or HTTP Basic credentials.")
    try:
        found = check(request)
    except BadRequest:
        found = None
    if found is None:
        return unauthorized("The credentials are invalid, expired or revoked.")
    return JsonResponse(found)


def unauthorized(description: str) -> JsonResponse:
    response = json_error("invalid_token", description, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="sandbox"'
    return response


# -- discovery, dynamic registration and an MCP-like resource ----------------------------
# RFC 8414 metadata is served at the OpenID Connect discovery path under the issuer
# ({public_url}/sandbox: the RFC 8414 well-known path would sit outside /sandbox/), RFC 7591
# registration is open (as MCP servers offer it), and /sandbox/mcp is a protected resource
# whose 401 names its RFC 9728 metadata (again, the well-known path is outside /sandbox/).


def sandbox_issuer(request: HttpRequest) -> str:
    """`{public_url}/sandbox`, as the catalogue entries name it."""
    return f"{settings.PUBLIC_URL}/sandbox"


@never_cache
@require_http_methods(["GET", "HEAD"])
def oauth2_metadata(request: HttpRequest) -> HttpResponse:
    """RFC 8414 authorization server metadata (at the OpenID Connect discovery path, and at
    the RFC 8414 path config/urls.py serves): for dynamic registration, MCP and creating a
    custom connector from the issuer URL."""
    issuer = sandbox_issuer(request)
    return JsonResponse({
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "registration_endpoint": f"{issuer}/oauth2/register",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256", "plain"],
    })


@server_to_server
def oauth2_register(request: HttpRequest) -> HttpResponse:
    """RFC 7591 dynamic client registration: one redirect URI, PKCE required."""
    try:
        metadata = json.loads(request.body or b"{}")
    except ValueError:
        metadata = None
    uris = metadata.get("redirect_uris") if isinstance(metadata, dict) else None
    if not isinstance(uris, list) or len(uris) != 1 or not isinstance(uris[0], str):
        return json_error("invalid_redirect_uri", "Register exactly one redirect URI.")
    name = str(metadata.get("client_name") or "Registered client")[:200]
    client_id, secret = register_client(name=name, redirect_uri=uris[0], require_pkce=True)
    return JsonResponse({"client_id": client_id, "client_secret": secret,
                         "client_secret_expires_at": 0, "redirect_uris": uris,
                         "token_endpoint_auth_method": "client_secret_post",
                         "grant_types": ["authorization_code", "refresh_token"]}, status=201)


@never_cache
@require_http_methods(["GET"])
def mcp_metadata(request: HttpRequest) -> HttpResponse:
    """RFC 9728 protected resource metadata of /sandbox/mcp."""
    issuer = sandbox_issuer(request)
    return JsonResponse({"resource": f"{issuer}/mcp", "authorization_servers": [issuer],
                         "scopes_supported": list(SCOPES)})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mcp(request: HttpRequest) -> HttpResponse:
    """An MCP-like endpoint: a bearer token, a JSON-RPC request in, its answer out (as
    text/event-stream when asked for); a 401 naming the resource metadata otherwise."""
    try:
        found = whoami_oauth2(request) if request.headers.get(
            "Authorization", "").lower().startswith("bearer ") else None
    except BadRequest:
        found = None
    if found is None:
        response = json_error("invalid_token", "Send a Bearer token.", status=401)
        named = f"{sandbox_issuer(request)}/mcp/metadata"
        response["WWW-Authenticate"] = f'Bearer resource_metadata="{named}"'
        return response
    if request.method != "POST":
        return json_error("invalid_request", "POST a JSON-RPC request.", status=405)
    try:
        call = json.loads(request.body or b"{}")
    except ValueError:
        call = None
    if not isinstance(call, dict):
        return json_error("invalid_request", "The body is not a JSON-RPC request.")
    answer = {"jsonrpc": "2.0", "id": call.get("id"),
              "result": {"serverInfo": {"name": "sandbox-mcp"}, "user": found["username"]}}
    if "text/event-stream" in request.headers.get("Accept", ""):
        return HttpResponse(f"event: message\ndata: {json.dumps(answer)}\n\n",
                            content_type="text/event-stream")
    return JsonResponse(answer)
