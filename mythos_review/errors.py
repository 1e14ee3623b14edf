"""Errors that end a command with a clear one-line message and a documented exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a Ctrl-C."""
EXIT_TERMINATED = 143
"""128 + SIGTERM, as shells report a ``kill`` (CI cancelling a job sends it)."""


class MythosError(Exception):
    """An error the user can act on; ``str(error)`` is the one line printed on stderr."""

    exit_code = EXIT_RUNTIME


class UsageError(MythosError):
    """Bad flags, a bad ref, a path that is not a repository, a diff that does not parse."""

    exit_code = EXIT_USAGE


class RuntimeFailure(MythosError):
    """The model, a server or the machine failed while the input was fine."""

    exit_code = EXIT_RUNTIME


class ModelFailure(RuntimeFailure):
    """The model or its server failed: the one failure ``--on-error allow`` lets a run pass."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C does: transactions
    roll back and temporary files go. A BaseException, so ``except Exception`` never eats it."""


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def escape_controls(text: str) -> str:
    """``text`` with every unprintable character written as an escape (``\\n``, ``\\e``,
    ``\\u202e``): a file name or a message stays on one line and can never restyle, retitle
    or reorder a terminal."""
    if text.isprintable():
        return text
    return "".join(
        char
        if char.isprintable()
        else _ESCAPES.get(char)
        or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        for char in text
    )
