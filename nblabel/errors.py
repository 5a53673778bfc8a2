"""Errors raised by nblabel: each one says what went wrong, where, and what to do."""

from __future__ import annotations

__all__ = [
    "ImageError",
    "ImageTooLargeError",
    "InputError",
    "InvalidBoxError",
    "NblabelError",
    "SchemaVersionError",
    "StoreError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "UnknownClassError",
]


class NblabelError(Exception):
    """Base class of every error nblabel raises on purpose."""


class InputError(NblabelError, ValueError):
    """The user's data (DataFrame, column, argument) cannot be used as given."""


class UnknownClassError(InputError):
    """A class or tag that is not in the session's vocabulary."""


class InvalidBoxError(InputError):
    """A box with no area, non-finite coordinates or entirely outside its image."""


class ImageError(NblabelError, OSError):
    """An image file is missing, unreadable or not an image."""


class ImageTooLargeError(ImageError):
    """An image is too large to decode safely in memory."""


class StoreError(NblabelError):
    """The label store cannot be opened, read or written."""


class StoreLockedError(StoreError):
    """Another process holds a lock on the store for longer than the timeout."""


class StoreReadOnlyError(StoreError):
    """A write was attempted on a store opened read-only."""


class SchemaVersionError(StoreError):
    """The store was written by a newer nblabel with a schema this version cannot read."""
