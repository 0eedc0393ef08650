"""The connector catalogue format, declared once: these models validate a catalogue file or
any dict of its shape (an API body), are the spec objects the code reads (`connector.spec`),
and generate `catalog.schema.json`. A rule about one value sits on its type, a rule relating
parts on the smallest model holding them; it raises `At(key, message)`, the key relative to
that model (connectors/spec.py makes it the file's dotted key).

One module per part, as connectors/auth/ has one per auth method: base.py (constants,
registries, the rule machinery, value types), fields.py, two_step.py, api.py; `[auth]` is
AuthBase (auth_base.py) with each mode's keys and rules as mixins (auth_<mode>.py) composed
in auth.py; the entry is ConnectorBase (connector_base.py) with each mode's rules as mixins
(connector_<mode>.py) composed in connector.py. This package re-exports the public names."""

from __future__ import annotations

from connectors.schema.api import ApiSpec, PostConnection
from connectors.schema.auth import URL_KEYS, AuthSpec
from connectors.schema.base import (
    API_TOKEN_TYPES,
    APP_INSTALLATION_FIELDS,
    APP_INSTALLATION_FROM,
    APP_INSTALLATION_ONLY,
    APPLIES,
    AUTH_TYPE_LABELS,
    AUTH_TYPES,
    BUILTIN_PLACEHOLDERS,
    CAPTURE_RE,
    CLAIM_NAME_RE,
    CREDENTIAL_FIELDS,
    DOTTED,
    ERROR_CODE_RE,
    HEADER_CONTROL_RE,
    JWT_BEARER_ONLY,
    JWT_SCOPES_PLACEHOLDER,
    JWT_SELF_SET_CLAIMS,
    JWT_SET_CLAIMS,
    JWT_SET_HEADER,
    KEY_ID_FIELD,
    LAX,
    LOOKUP_RE,
    OAUTH2_ONLY,
    PLACEHOLDER_RE,
    PRIVATE_KEY_FIELD,
    REQUIRED_FIELDS,
    REQUIRED_URLS,
    RESERVED_HEADERS,
    SCOPE_TOKEN_RE,
    STORED,
    TWO_STEP_ONLY,
    VERIFY_RE,
    At,
    AuthType,
    BodyFormat,
    ChoiceValue,
    Dotted,
    HeaderName,
    HeaderValue,
    M,
    Params,
    ScopeToken,
    Text100,
    Text500,
    TokenAuth,
    TokenHeader,
    TokenPrefix,
    Url,
    checked,
    rule,
    rules,
)
from connectors.schema.connector import ConnectorSpec
from connectors.schema.fields import FieldSpec, OptionalScope
from connectors.schema.two_step import TokenRequest

__all__ = [
    'API_TOKEN_TYPES', 'APPLIES', 'APP_INSTALLATION_FIELDS', 'APP_INSTALLATION_FROM',
    'APP_INSTALLATION_ONLY', 'AUTH_TYPES', 'AUTH_TYPE_LABELS', 'ApiSpec', 'At', 'AuthSpec',
    'AuthType', 'BUILTIN_PLACEHOLDERS', 'BodyFormat', 'CAPTURE_RE', 'CLAIM_NAME_RE',
    'CREDENTIAL_FIELDS', 'ChoiceValue', 'ConnectorSpec', 'DOTTED', 'Dotted', 'ERROR_CODE_RE',
    'FieldSpec', 'HEADER_CONTROL_RE', 'HeaderName', 'HeaderValue', 'JWT_BEARER_ONLY',
    'JWT_SCOPES_PLACEHOLDER', 'JWT_SELF_SET_CLAIMS', 'JWT_SET_CLAIMS', 'JWT_SET_HEADER',
    'KEY_ID_FIELD', 'LAX', 'LOOKUP_RE', 'M', 'OAUTH2_ONLY', 'OptionalScope', 'PLACEHOLDER_RE',
    'PRIVATE_KEY_FIELD', 'Params', 'PostConnection', 'REQUIRED_FIELDS', 'REQUIRED_URLS',
    'RESERVED_HEADERS', 'SCOPE_TOKEN_RE', 'STORED', 'ScopeToken', 'TWO_STEP_ONLY', 'Text100',
    'Text500', 'TokenAuth', 'TokenHeader', 'TokenPrefix', 'TokenRequest', 'URL_KEYS', 'Url',
    'VERIFY_RE', 'checked', 'rule', 'rules',
]
