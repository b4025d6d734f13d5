"""Errors a user can cause. The CLI and GUI show their message as one line."""


class DigitpadError(Exception):
    """An expected failure with a message fit to show a user."""


class DataError(DigitpadError):
    """A dataset file is missing, unreadable or malformed."""


class ModelError(DigitpadError):
    """A model file is missing, unreadable or not a digitpad model."""


class ConfigError(DigitpadError):
    """A training setting is out of range."""


class ImageError(DigitpadError, ValueError):
    """An image cannot be read or converted."""


class TrainingAborted(DigitpadError):
    """Training was abandoned (the app is closing): no evaluation, no result."""


MAX_MESSAGE = 300  # characters; a longer message is cut with "…"


def one_line(exc: BaseException, limit: int = MAX_MESSAGE) -> str:
    """An exception as one line for a user: our own messages as written, a hint for
    memory errors, otherwise "TypeName: message" (the type alone when there is none)."""
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if isinstance(exc, DigitpadError):
        return text or type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        return "out of memory — try a smaller batch size or image limit"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
