"""Risk tags from a real index of a real repository: imports, qualified calls through aliases,
built-in calls, and files that earn nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mythos_review.index.risk import RULES, TAGS, file_risk_tags, risk_tags
from mythos_review.index.search import Index
from mythos_review.types import Reference

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

RISKY = {
    "tools/shell.py": "import subprocess as sp\n\ndef run(cmd):\n    return sp.run(cmd)\n",
    "tools/store.py": (
        "import pickle\nfrom sqlite3 import connect\n\n"
        "def load(blob):\n    return pickle.loads(blob)\n\n"
        "def rows(path):\n    return connect(path).execute('select 1').fetchall()\n"
    ),
    "tools/config.py": (
        "import os\n\ndef token():\n    return os.environ.get('API_TOKEN')\n\n"
        "def lock(path):\n    os.chmod(path, 0o600)\n\n"
        "def ask():\n    return eval(input('> '))\n"
    ),
    "tools/maths.py": "import math\n\ndef area(r):\n    return math.pi * r * r\n",
    "web/fetch.js": "import { exec } from 'child_process';\nexport const run = (c) => exec(c);\n",
    "web/main.go": 'package main\n\nimport "database/sql"\n\nfunc open() { sql.Open("x", "y") }\n',
}


def _index(git_repo: GitRepoFactory) -> Index:
    repo = git_repo()
    for path, text in RISKY.items():
        repo.write(path, text)
    repo.commit("risky")
    index = Index.open(repo.path)
    index.update()
    return index


def test_tags_come_from_imports_aliased_calls_and_builtins_in_three_languages(
    git_repo: GitRepoFactory,
) -> None:
    index = _index(git_repo)
    tags = risk_tags(index, RISKY)
    assert tags["tools/shell.py"] == ("subprocess",)
    assert tags["tools/store.py"] == ("sql", "deserialization")
    assert tags["tools/config.py"] == ("user-input", "secrets", "permissions", "dynamic-code")
    assert (tags["web/fetch.js"], tags["web/main.go"]) == (("subprocess",), ("sql",))
    assert set(tags) == set(RISKY) - {"tools/maths.py"}


def test_an_aliased_module_call_is_resolved_and_a_look_alike_name_is_not() -> None:
    aliased = [
        Reference("yaml", "import", 1, "", None, "y"),
        Reference("load", "call", 3, "read", "y"),
    ]
    assert file_risk_tags(aliased) == ("deserialization",)
    look_alike = [Reference("system", "call", 3, "f", "platform")]  # platform.system()
    assert file_risk_tags(look_alike) == ()
    assert file_risk_tags([Reference("cryptography.fernet", "import", 1, "")]) == ("crypto",)


def test_every_rule_is_named_once_and_earned_by_something() -> None:
    assert len(TAGS) == len(set(TAGS))
    assert all(rule.modules or rule.names or rule.builtins for rule in RULES)
