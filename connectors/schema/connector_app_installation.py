"""app_installation (GitHub Apps; connectors/auth/app_installation.py): the entry's rules."""

from __future__ import annotations

from connectors.schema.base import APP_INSTALLATION_FIELDS, APP_INSTALLATION_FROM, At, rules
from connectors.schema.connector_base import ConnectorBase


class AppInstallationRules(ConnectorBase):
    """The app's fields: id and key the partner's, the installation id captured."""

    @rules
    def _app_installation_fields(self) -> None:
        """app_installation: the app's id and private key (a secret) are the partner's, the
        installation id is captured from the callback (the provider's Setup URL redirect)."""
        if self.auth.type != "app_installation":
            return
        for index, spec_field in enumerate(self.fields):
            level = APP_INSTALLATION_FIELDS.get(spec_field.key)
            if level and spec_field.level != level:
                raise At(f"fields[{index}].level", f"must be {level!r} for app_installation")
            if spec_field.key == "private_key" and not spec_field.secret:
                raise At(f"fields[{index}].secret", "must be true: the private key is a secret")
            if spec_field.key == "installation_id" and (
                    spec_field.capture_from != APP_INSTALLATION_FROM):
                raise At(f"fields[{index}].from", f"must be {APP_INSTALLATION_FROM!r}")
        self._key_only_signs()
        if bool(self.auth.installer_token_url) != bool(self.auth.installer_installations_url):
            raise At("auth.installer_installations_url",
                     "is required with installer_token_url, and only with it")
        if self.auth.installer_token_url:
            self._installer_client_fields()

    def _installer_client_fields(self) -> None:
        """Checking the installer needs the app's OAuth client: its id and secret."""
        for key, secret in (("client_id", False), ("client_secret", True)):
            spec_field = self.field(key)
            if spec_field is None or not spec_field.is_partner_level:
                raise At("fields", f"a partner-level field with key {key!r} is required with "
                                   "auth.installer_token_url")
            if spec_field.secret != secret:
                raise At("fields", f"the field {key!r} must have secret = {str(secret).lower()}")
