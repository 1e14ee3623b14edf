"""Who may receive the code under review and the API key.

A team's committed ``base_url`` is the documented set-up, but a repository is not the user: a
cloned project, or a stranger's pull request, could aim the code and ``$MYTHOS_API_KEY`` at any
server. So when the server (or the key's variable) comes from the repository's own settings
file, its host must be one the user allows: listed in ``$MYTHOS_ALLOWED_HOSTS`` or in
``allowed_hosts`` of the user's config file (``$XDG_CONFIG_HOME/mythos-review/config.toml``),
or confirmed once in a terminal, which adds it there. A hook without a terminal refuses with
what to do. A ``--base-url`` flag or a ``--config`` file the user named needs no confirmation.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from mythos_review.config import Settings, read_settings_file
from mythos_review.errors import UsageError
from mythos_review.files import write_text_atomically

ALLOWED_HOSTS_ENV = "MYTHOS_ALLOWED_HOSTS"
"""Comma- or space-separated hosts (``host`` for any port, ``host:port`` for one)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_USER_KEYS = ("allowed_hosts",)

Ask = Callable[[str], bool]
"""Puts a yes/no question to the user; None where nobody can answer (a hook, CI)."""


def user_config_path() -> Path:
    home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(home) / "mythos-review" / "config.toml"


def server_of(url: str) -> str:
    """``host:port`` of a URL, lower-cased, with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError as error:
        raise UsageError(f"base_url has a bad port: {error}") from error
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _entry(text: str) -> str:
    """An allow-list entry as ``server_of`` writes servers: ``host`` or ``host:port``."""
    entry = text.strip().lower()
    if "://" in entry:
        return server_of(entry)
    return entry.rstrip("/")


def _user_hosts(path: Path) -> list[str]:
    if not path.is_file():
        return []
    table = read_settings_file(path)
    unknown = sorted(set(table) - set(_USER_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r}; it may hold only allowed_hosts")
    hosts = table.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
        raise UsageError(f"{path}: allowed_hosts must be a list of strings such as 'llm:8000'")
    return hosts


def allowed_hosts(environ: Mapping[str, str]) -> frozenset[str]:
    listed = environ.get(ALLOWED_HOSTS_ENV, "").replace(",", " ").split()
    return frozenset(_entry(host) for host in (*listed, *_user_hosts(user_config_path())))


def is_allowed(server: str, allowed: frozenset[str]) -> bool:
    host = server.rpartition(":")[0]
    return server in allowed or host in allowed


def remember(server: str) -> Path:
    """Add ``server`` to the user's config file (rewritten whole; it holds only this list)."""
    path = user_config_path()
    hosts = sorted({*_user_hosts(path), server})
    listed = ", ".join(f'"{host}"' for host in hosts)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(
        path,
        "# Servers mythos-review may send code and API keys to when a repository's own\n"
        f"# settings name them; {ALLOWED_HOSTS_ENV} adds more. Written by mythos-review.\n"
        f"allowed_hosts = [{listed}]\n",
    )
    return path


def check_server(settings: Settings, environ: Mapping[str, str], ask: Ask | None) -> None:
    """Refuse (UsageError) to send code or a key to a server the repository chose and the
    user has not allowed; ``ask`` may allow it once, and then for good."""
    if settings.backend != "openai" or not settings.base_url:
        return
    chosen_by_repository = {"base_url", "api_key_env"} & settings.from_repository
    if not chosen_by_repository:
        return
    server = server_of(settings.base_url)
    if is_allowed(server, allowed_hosts(environ)):
        return
    key = f" and ${settings.api_key_env}" if environ.get(settings.api_key_env) else ""
    names = " and ".join(sorted(chosen_by_repository))
    question = (
        f"the repository's settings ({names}) would send the code under review{key} to "
        f"{server}, which you have not allowed"
    )
    if ask is not None and ask(f"mythos: {question}. Allow {server} from now on? [y/N] "):
        remember(server)
        return
    raise UsageError(
        f"{question}; to allow it, run mythos once in a terminal and answer yes, or add "
        f"{server} to ${ALLOWED_HOSTS_ENV} or to allowed_hosts in {user_config_path()}; "
        "or pass --base-url yourself"
    )
