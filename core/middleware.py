"""Request and response rules that hold for every page: bounded request bodies, file
parts only where an upload is expected, no caching of pages by default, and console
pages on PUBLIC_URL's host.

Core imports no app of ours: the apps whose URLs take a larger body, file uploads or a
body passed through unparsed register those URLs from their `AppConfig.ready()`
(`register_body_rule`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, UnreadablePostError
from django.urls import Resolver404, ResolverMatch, resolve

Handler = Callable[[HttpRequest], HttpResponse]


class FileRefused(Exception):
    """A multipart body carries a file part where no upload is expected."""


class RefuseFilesHandler(FileUploadHandler):
    """First upload handler outside the upload pages: stops at the first file part, before
    a byte of it is kept in memory or written to a temporary file by the handlers after."""

    def new_file(self, *args: object, **kwargs: object) -> None:
        raise FileRefused

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


#: Where `url_match` keeps its answer on the request.
_URL_MATCH = "hatchway_url_match"


def url_match(request: HttpRequest) -> ResolverMatch | None:
    """The request's path resolved once for the middlewares that route on it (None when
    no URL matches). Two of them ask for every request; resolving walks the URL patterns
    each time. Django's handler resolves the path again to call the view."""
    if _URL_MATCH not in request.__dict__:
        try:
            request.__dict__[_URL_MATCH] = resolve(request.path_info)
        except Resolver404:
            request.__dict__[_URL_MATCH] = None
    match: ResolverMatch | None = request.__dict__[_URL_MATCH]
    return match


def view_name(request: HttpRequest) -> str:
    match = url_match(request)
    return match.view_name if match else ""


@dataclass(frozen=True)
class BodyRule:
    """How one URL's request bodies differ from the default."""

    #: Its largest body in bytes, read when a request comes (a setting may change it).
    limit: Callable[[], int]
    #: File parts are accepted (an upload page).
    uploads: bool = False
    #: The body is passed on unparsed (the API's proxy).
    pass_through: bool = False


#: URL name -> its rule; filled by the apps' `AppConfig.ready()`, never by settings.
BODY_RULES: dict[str, BodyRule] = {}


def register_body_rule(url_name: str, rule: BodyRule) -> None:
    BODY_RULES[url_name] = rule


def body_limit(name: str) -> int:
    """MAX_REQUEST_BODY, or the limit the URL name's registered rule gives."""
    rule = BODY_RULES.get(name)
    return rule.limit() if rule else settings.MAX_REQUEST_BODY


def content_length(request: HttpRequest) -> int:
    # Django's own reading: a missing or unreadable Content-Length reads no body at all.
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


class RequestBodyLimitMiddleware:
    """Refuse a body over MAX_REQUEST_BODY (or the URL's own limit, BODY_RULES) with a
    413 before any of it is read, and file parts outside the upload pages with a 400 --
    except where the body is passed on unparsed (the API's proxy).

    Django reads at most Content-Length bytes of the input (its LimitedStream), so checking
    the header bounds what is streamed; the file-part refusal happens while the multipart
    body streams, at the part's headers. First in MIDDLEWARE: nothing reads the body before.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = view_name(request)
        limit = body_limit(name)
        if content_length(request) > limit:
            return HttpResponse(f"The request is too large (at most {limit} bytes).",
                                status=413, content_type="text/plain")
        rule = BODY_RULES.get(name)
        parsed = rule is None or not (rule.uploads or rule.pass_through)
        if parsed and request.method == "POST" and (
                request.content_type == "multipart/form-data"):
            request.upload_handlers.insert(0, RefuseFilesHandler(request))
            try:
                request.POST  # noqa: B018 - parse now, while a refusal can still be answered
            except FileRefused:
                return HttpResponse("File uploads are not accepted here.", status=400,
                                    content_type="text/plain")
            except UnreadablePostError:  # the client went away mid-body
                return HttpResponse(status=400)
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not set its own (console and
    customer pages hold account data; static files are answered before this runs)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


#: URL namespaces and names that answer on any allowed host: health and metrics here, and
#: what apps register from their `AppConfig.ready()` (`register_any_host`): the API, the
#: sandbox, the customer pages. Static files are answered before the middleware runs.
ANY_HOST: set[str] = {"healthz_live", "healthz_ready", "metrics"}


def register_any_host(name: str) -> None:
    """Let a URL namespace (or a URL name) answer on any allowed host."""
    ANY_HOST.add(name)


def answers_on_any_host(request: HttpRequest) -> bool:
    match = url_match(request)
    if match is None:
        return False
    return match.namespace in ANY_HOST or match.view_name in ANY_HOST


class PublicHostMiddleware:
    """Console pages answer on PUBLIC_URL's host only: a GET or HEAD that names this server
    otherwise (127.0.0.1 where PUBLIC_URL says localhost) is redirected there, before a
    log-in or a sign-in starts. Providers send the browser back to PUBLIC_URL, and a session
    cookie set on another host is not sent there: every sign-in would end in "Sign-in link
    no longer valid". What is registered in ANY_HOST answers on any allowed host;
    PUBLIC_HOST_REDIRECT=false turns this off (a proxy that cannot pass the Host through).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PUBLIC_HOST_REDIRECT and request.method in ("GET", "HEAD"):
            public = urlsplit(settings.PUBLIC_URL)
            if request.get_host().lower() != public.netloc.lower() and \
                    not answers_on_any_host(request):
                return HttpResponseRedirect(
                    f"{public.scheme}://{public.netloc}{request.get_full_path()}")
        return self.get_response(request)
