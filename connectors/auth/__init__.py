"""The registry of authentication methods: `auth.type` in the catalogue -> class.

Explicit on purpose: no import-time discovery.
"""

from __future__ import annotations

from connectors.auth.api_key import APIKey
from connectors.auth.app_installation import AppInstallation
from connectors.auth.base import AuthError, AuthMethod, Context, ErrorKind
from connectors.auth.basic import Basic
from connectors.auth.client_credentials import ClientCredentials
from connectors.auth.jwt import SelfSignedJWT
from connectors.auth.jwt_bearer import JWTBearer
from connectors.auth.none import NoAuth
from connectors.auth.oauth1 import OAuth1
from connectors.auth.oauth2 import OAuth2
from connectors.auth.two_step import TwoStep

AUTH_METHODS: dict[str, type[AuthMethod]] = {
    "oauth1": OAuth1,
    "oauth2": OAuth2,
    "oauth2_client_credentials": ClientCredentials,
    "two_step": TwoStep,
    "app_installation": AppInstallation,
    "jwt_bearer": JWTBearer,
    "jwt": SelfSignedJWT,
    "api_key": APIKey,
    "basic": Basic,
    "none": NoAuth,
}


def build_method(context: Context) -> AuthMethod:
    """The configured method for a connector spec and its merged values."""
    try:
        method_class = AUTH_METHODS[context.spec.auth.type]
    except KeyError:
        raise AuthError("This connector's authentication type is not supported.",
                        kind=ErrorKind.CONFIGURATION) from None
    return method_class(context)
