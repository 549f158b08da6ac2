from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from mfa import audit_events  # noqa: F401 - names the shared events in the Security Log
        from mfa.registry import watch_connection

        connection_created.connect(watch_connection, dispatch_uid="mfa.registry.watch_connection")
        for connection in connections.all(initialized_only=True):  # opened before ready() (a migration's check)
            watch_connection(connection)
