from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies"

    def ready(self) -> None:
        from agencies import audit_events, signals  # noqa: F401 - connects the receivers, names the events
