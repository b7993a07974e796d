"""Typed readers for environment variables that fail loudly on a bad value."""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# A Content-Security-Policy scheme source (wss:) or host source (wss://chat.example.com:443/path).
_CSP_SOURCE = re.compile(
    r"[a-z][a-z0-9+.-]*:"
    r"|(?:[a-z][a-z0-9+.-]*://)?(?:\*|(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])"
    r"(?::(?:[0-9]{1,5}|\*))?(?:/[^\s;,'\"]*)?",
    re.IGNORECASE,
)
# Shells and compose files strip quotes, so the two keywords are taken with or without them.
_CSP_KEYWORDS = {"self": "'self'", "none": "'none'"}


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or the default when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean variable (1/0, true/false, yes/no, on/off)."""
    value = env_str(name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """Return an integer variable, at least `minimum` when given."""
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    """Return a number variable, at least `minimum` when given."""
    value = env_str(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list variable."""
    value = env_str(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return a variable that must be one of `choices`."""
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_secret(name: str) -> str:
    """Return a secret from NAME, or from the file named by NAME_FILE."""
    path = env_str(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{name}_FILE points to an unreadable file: {error}"
            ) from None
    return env_str(name)


def env_csp_sources(name: str, default: list[str]) -> list[str]:
    """Return Content-Security-Policy sources separated by commas or spaces."""
    value = env_str(name)
    if not value:
        return list(default)
    sources = []
    for item in re.split(r"[\s,]+", value):
        keyword = _CSP_KEYWORDS.get(item.strip("'").lower())
        if keyword:
            sources.append(keyword)
        elif _CSP_SOURCE.fullmatch(item):
            sources.append(item)
        elif item:
            raise ImproperlyConfigured(
                f"{name} must list Content-Security-Policy sources such as "
                f"wss://chat.example.com or self, got {item!r}"
            )
    return sources


FOREVER = "forever"


def env_days(name: str, default: int | None) -> int | None:
    """Return a retention period in whole days, or None when the variable says `forever`."""
    value = env_str(name).lower()
    if not value:
        return default
    if value == FOREVER:
        return None
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days < 1:
        # 0 is refused rather than read as "keep nothing" or "keep forever": both are plausible.
        raise ImproperlyConfigured(
            f"{name} must be a whole number of days (1 or more) or '{FOREVER}', got {value!r}"
        )
    return days


def env_time_of_day(name: str, default: str) -> tuple[int, int] | None:
    """Return an HH:MM variable as (hour, minute), or None when it says `off`."""
    value = env_str(name, default).lower()
    if value == "off":
        return None
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", value)
    if match is None:
        raise ImproperlyConfigured(f"{name} must be a time HH:MM (UTC) or 'off', got {value!r}")
    return int(match.group(1)), int(match.group(2))
