"""The base of every app's ``app_settings``: one prefix, lazy reads, defaults in code."""
from django.conf import settings


class PrefixedSettings:
    """Subclasses set ``prefix`` and declare one typed property per setting.

    Values are read on every access, so tests can override them with the
    ``settings`` fixture and a running process sees override_settings.
    """

    prefix: str = ""

    def _setting(self, name: str, default):
        return getattr(settings, self.prefix + name, default)
