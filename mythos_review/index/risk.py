"""Risk tags: what a file touches that a reviewer reads twice (a shell, SQL, pickle, secrets).

A tag comes from the file's own references as the index holds them: the modules it imports
(``import subprocess``, ``from sqlite3 import connect``, ``require('child_process')``), the
qualified names it calls or reads (``os.environ``, ``yaml.load``; module aliases resolved
through the file's imports) and a few built-in calls (``eval``, ``input``). Nothing is run or
imported. Tags orient a reader of the repository map (``mythos map``). Ranking topic
retrieval by them (a topic about shell commands preferring files tagged ``subprocess``) was
measured on bench/topics.jsonl and left out: it moved 3 of 32 topics and lost one
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mythos_review.index.search import Index
from mythos_review.types import Reference


@dataclass(frozen=True)
class RiskRule:
    """One tag and the references that earn it."""

    tag: str
    modules: frozenset[str] = frozenset()
    """Imported modules (or their parents: ``cryptography`` covers ``cryptography.fernet``);
    paths of Go and Node modules are written with dots (``os.exec`` for ``os/exec``)."""
    names: frozenset[str] = frozenset()
    """Qualified names called or read: ``module.name`` after aliases are resolved."""
    builtins: frozenset[str] = frozenset()
    """Bare calls of these names."""


def _rule(
    tag: str,
    modules: str = "",
    names: str = "",
    builtins: str = "",
) -> RiskRule:
    return RiskRule(
        tag,
        frozenset(modules.split()),
        frozenset(names.split()),
        frozenset(builtins.split()),
    )


RULES: tuple[RiskRule, ...] = (
    _rule(
        "auth",
        "django.contrib.auth flask_login passlib bcrypt jwt oauthlib authlib requests.auth"
        " werkzeug.security itsdangerous",
        "getpass.getpass",
    ),
    _rule(
        "crypto",
        "hashlib hmac ssl cryptography Crypto nacl secrets crypto crypto.tls crypto.sha256"
        " crypto.hmac bcrypt",
    ),
    _rule(
        "sql",
        "sqlite3 psycopg2 psycopg pymysql MySQLdb sqlalchemy asyncpg peewee django.db"
        " database.sql mysql mysql2 pg",
    ),
    _rule(
        "filesystem",
        "shutil tempfile glob pathlib fs fs.promises io.ioutil",
        "os.remove os.unlink os.rename os.replace os.makedirs os.mkdir os.rmdir os.listdir"
        " os.walk os.scandir os.open os.symlink os.link",
        "open",
    ),
    _rule(
        "network",
        "socket http.client http.server urllib.request urllib3 requests httpx aiohttp ftplib"
        " smtplib paramiko websocket websockets net http https net.http",
        "urllib.request.urlopen",
    ),
    _rule(
        "subprocess",
        "subprocess child_process os.exec pty",
        "os.system os.popen os.execv os.execvp os.execve os.spawnl os.spawnv os.startfile",
    ),
    _rule(
        "deserialization",
        "pickle cPickle marshal shelve dill jsonpickle yaml",
        "yaml.load yaml.unsafe_load pickle.loads pickle.load marshal.loads",
    ),
    _rule(
        "user-input",
        "argparse optparse click getopt cgi flask.request",
        "sys.argv sys.stdin request.args request.form request.GET request.POST request.json",
        "input",
    ),
    _rule(
        "secrets",
        "keyring dotenv",
        "os.environ os.getenv os.environb",
    ),
    _rule(
        "permissions",
        "stat pwd grp",
        "os.chmod os.chown os.fchmod os.lchown os.setuid os.setgid os.seteuid os.umask os.access",
    ),
    _rule(
        "dynamic-code",
        "importlib",
        "importlib.import_module",
        "eval exec compile __import__",
    ),
)
TAGS: tuple[str, ...] = tuple(rule.tag for rule in RULES)


def file_risk_tags(references: Iterable[Reference]) -> tuple[str, ...]:
    """The tags one file's references earn, in the order of ``RULES``."""
    modules: set[str] = set()
    aliases: dict[str, str] = {}
    names: set[str] = set()
    bare_calls: set[str] = set()
    references = list(references)
    for reference in references:
        if reference.kind != "import":
            continue
        module = (reference.qualifier or reference.name).strip("'\"").replace("/", ".")
        modules.add(module)
        if reference.qualifier:  # from module import name [as alias]
            imported = f"{module}.{reference.name}"
            modules.add(imported)
            names.add(imported)
            aliases[reference.alias or reference.name] = imported
        else:  # import module [as alias]
            aliases[reference.alias or module.split(".")[0]] = (
                module if reference.alias else module.split(".")[0]
            )
    for reference in references:
        if reference.kind == "import":
            continue
        if reference.qualifier is None:
            if reference.kind == "call" and reference.name not in aliases:  # not an import
                bare_calls.add(reference.name)
            names.add(aliases.get(reference.name, reference.name))
            continue
        head, _, rest = reference.qualifier.partition(".")
        qualifier = aliases.get(head, head) + (f".{rest}" if rest else "")
        names.add(f"{qualifier}.{reference.name}")
        names.add(qualifier)
    return tuple(
        rule.tag
        for rule in RULES
        if any(_within(module, rule.modules) for module in modules)
        or names & rule.names
        or bare_calls & rule.builtins
    )


def _within(module: str, parents: frozenset[str]) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:end]) in parents for end in range(1, len(parts) + 1))


def render_tags(tags_by_path: Mapping[str, tuple[str, ...]], path: str) -> str:
    """`` [auth, sql]`` after a path in the map, or nothing."""
    tags = tags_by_path.get(path, ())
    return f" [{', '.join(tags)}]" if tags else ""


def risk_tags(index: Index, paths: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The tags of each of ``paths`` that earns any (references extracted where not yet)."""
    tags = {path: file_risk_tags(index.references_in_file(path)) for path in set(paths)}
    return {path: found for path, found in tags.items() if found}
