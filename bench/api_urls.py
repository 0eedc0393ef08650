"""bench/api.py's ROOT_URLCONF: the project's URLs and one bench-only API view.

The view is the baseline the credentials read is set beside: a request that only checks
the bearer key. It is served by the benchmark's gunicorn alone (`bench/api_settings.py`),
never by the project, so the API gains no public endpoint.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import BearerKeyAuthentication, IsApiKey
from config.urls import urlpatterns as project_urlpatterns
from core.middleware import register_any_host

KEY_ONLY_PATH = "api/bench/key-only"


class KeyOnly(APIView):
    """The project's authentication class (the key's lookup and its last-used note) and
    any scope; otherwise the API's defaults as every API view has them (the per-key
    throttle, the JSON renderer). No object is loaded, nothing is decrypted or audited."""

    authentication_classes = [BearerKeyAuthentication]
    permission_classes = [IsApiKey]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


# The API answers on any allowed host (api/apps.py); so does its stand-in, which is
# served on 127.0.0.1 while PUBLIC_URL names the sandbox's port.
register_any_host("bench_key_only")

urlpatterns = [path(KEY_ONLY_PATH, KeyOnly.as_view(), name="bench_key_only"),
               *project_urlpatterns]
