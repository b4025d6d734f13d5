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
