"""Errors that end a command with a clear one-line message and a documented exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3


class MythosError(Exception):
    """An error the user can act on; ``str(error)`` is the one line printed on stderr."""

    exit_code = EXIT_RUNTIME


class UsageError(MythosError):
    """Bad flags, a bad ref, a path that is not a repository, a diff that does not parse."""

    exit_code = EXIT_USAGE


class RuntimeFailure(MythosError):
    """The model, a server or the machine failed while the input was fine."""

    exit_code = EXIT_RUNTIME
