"""The local CLI's errors; each one ends the process with an `is_error` result line.

LocalCliError
├── InputError    stdin held something other than a usable user message
├── ModelError    the model could not be found, loaded, or asked (`status` as in HTTP)
└── OutputClosed  whoever read stdout has gone away
"""

from __future__ import annotations


class LocalCliError(Exception):
    """Base class: anything that ends a turn with an error result."""


class InputError(LocalCliError):
    """A stdin line that is not a stream-json user message with some text in it."""


class ModelError(LocalCliError):
    """The model is missing, failed to load, or refused the request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class OutputClosed(LocalCliError):
    """Writing to stdout failed because the reader closed it."""
