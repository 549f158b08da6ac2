"""Read configuration from the environment, with typed helpers and defaults."""
import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or ``default``; raise when neither exists."""
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean read from 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else int(raw)


def env_list(name: str, default: str = "") -> list[str]:
    """Return a comma-separated variable as a list without blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
