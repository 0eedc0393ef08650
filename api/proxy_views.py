"""The partner API's proxy: `/proxy/{install_id}/{path}` calls the provider's API as the
install (installs/proxy.py does the call; this view owns the request and the response)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from api.authentication import CanProxy
from api.problems import Problem, ProblemCode
from api.views import INSTALL, ApiView, problems
from core.middleware import content_length
from installs import proxy

PROXY_METHODS = ["get", "post", "put", "patch", "delete"]


class ForwardAccept(BaseContentNegotiation):
    """The caller's Accept is the provider's to answer (an MCP server's text/event-stream):
    forwarded, not negotiated; Hatchway's own refusals are problem+json whatever it says."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any,
                        format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class Proxy(ApiView):
    """Call the provider's API as the install: `/proxy/{install_id}/{path}`."""

    permission_classes = [CanProxy]
    content_negotiation_class = ForwardAccept
    http_method_names = [*PROXY_METHODS, "head", "options"]  # any method is forwarded

    @extend_schema(summary="Call the provider's API as the install",
                   description="Forwards to the connector's API base URL joined with `path` "
                               "(query string kept), with the install's authentication. "
                               "Answers with the provider's status, body and safe headers.",
                   request={"*/*": OpenApiTypes.BINARY},
                   parameters=[INSTALL, OpenApiParameter("path", str, OpenApiParameter.PATH,
                                                description="Under the API base URL.")],
                   responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY,
                                                             description="The provider's "
                                                             "answer, whatever its status."),
                              **problems(400, 404, 409, 411, 413, 502, 504)},
                   methods=[m.upper() for m in PROXY_METHODS])
    def forward(self, request: Request, install_id: int, path: str) -> HttpResponseBase:
        install = self.install(int(install_id))  # the URL's digits (a re_path)
        if "HTTP_TRANSFER_ENCODING" in request.META and not content_length(request._request):
            raise Problem(411, "Send the body with a Content-Length.",
                          code=ProblemCode.LENGTH_REQUIRED)
        max_body = int(settings.PROXY_MAX_BODY)
        # Content-Length was checked against the limit before the body was read (middleware).
        body = request.stream.read(max_body + 1) if request.stream else b""
        if len(body) > max_body:
            raise Problem(413, f"The request body is over {max_body} bytes.",
                          code=ProblemCode.REQUEST_TOO_LARGE)
        try:
            answer = proxy.call(install=install, verb=request.method or "GET", path=path,
                                query=request.META.get("QUERY_STRING", ""),
                                headers=request.headers, body=body, max_body=max_body)
        except proxy.ProxyRefused as refused:
            extra = {"install_status": install.status} if refused.status == 409 else None
            raise Problem(refused.status, refused.message, code=refused.code,
                          extra=extra) from None
        response = StreamingHttpResponse(answer.body, status=answer.status)
        for name, value in answer.headers.items():
            response[name] = value
        response["Cache-Control"] = "no-store"  # the provider's caching is not ours to pass
        if answer.length is not None:
            response["Content-Length"] = str(answer.length)
        return response

    get = post = put = patch = delete = head = forward
    options = forward  # type: ignore[assignment]  # forwarded too, not DRF's metadata
