"""Shared pieces of the label file formats."""

from __future__ import annotations

from nblabel.errors import InputError

__all__ = ["FormatError"]


class FormatError(InputError):
    """A label file is malformed; the message names the file and line and what is wrong."""
