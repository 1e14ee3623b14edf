"""Resolution you can trust: callees through what the changed file sees, tests through the
public API, and one hop through callers only when the caller surely is one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mythos_review.config import Settings
from mythos_review.context.retrieve import path_distance
from mythos_review.diffs.sources import DiffRequest
from mythos_review.index.search import named_like
from mythos_review.pipeline import collect_units, plan_passes
from mythos_review.tokens import EstimateCounter
from mythos_review.types import EvidenceItem, ReviewResult

if TYPE_CHECKING:
    from tests.conftest import GitRepoFactory

CART = """\
from shop.pricing import price_of
import shop.tax as tax


class Cart:
    def __init__(self):
        self.items = {}

    def total(self):
        base = sum(price_of(item) for item in self.items)
        extra = self.items.get("gift", 0)
        return tax.apply(base + extra) + self.fee()

    def fee(self):
        return 1
"""

FILES = {
    "shop/__init__.py": "",
    "shop/cart.py": CART,
    "shop/pricing.py": "def price_of(item):\n    return item.price\n",
    "shop/tax.py": "def apply(amount):\n    return amount * 1.2\n",
    "shop/cache.py": (
        "class Cache:\n    def get(self, key, default=None):\n        return default\n"
    ),
    "shop/route.py": (
        "from shop.cart import Cart\n\n\ndef match(cart: Cart):\n    return cart.total() > 10\n"
    ),
    "shop/other.py": "def match(pattern):\n    return pattern\n",
    "shop/checkout.py": (
        "from shop.cart import Cart\n\n\ndef checkout():\n    cart = Cart()\n"
        "    return cart.total()\n"
    ),
    "tests/__init__.py": "",
    "tests/helpers.py": (
        "def get(key, default=None):\n    return default\n\n\ndef price_of(item):\n    return 0\n"
    ),
    "tests/test_cart.py": (
        "from shop.cart import Cart\n\n\ndef test_total_of_an_empty_cart():\n"
        "    assert Cart().total() == 1\n"
    ),
    "tests/test_checkout.py": (
        "from shop.checkout import checkout\n\n\ndef test_checkout_charges_the_total():\n"
        "    assert checkout() == 1\n"
    ),
    "tests/test_route.py": (
        "from shop.route import match\n\n\ndef test_route_match_on_big_carts():\n"
        "    assert not match(FakeCart())\n"
    ),
    "tests/test_other.py": (
        "from shop.other import match\n\n\ndef test_other_match():\n    assert match('x') == 'x'\n"
    ),
}


def _planned(
    git_repo: GitRepoFactory, files: dict[str, str], path: str, changed: str
) -> ReviewResult:
    """The dry-run plan of a review of one staged change to ``path`` in a repository of
    ``files``, at a budget where every offered item is seen."""
    repo = git_repo()
    for name, text in files.items():
        repo.write(name, text)
    repo.commit("base")
    repo.write(path, changed)
    repo.stage()
    settings = Settings(max_prompt_tokens=8000)
    collected = collect_units(repo.path, DiffRequest(staged=True), settings)
    return plan_passes(collected, repo.path, settings, EstimateCounter())


@pytest.fixture
def result(git_repo: GitRepoFactory) -> ReviewResult:
    return _planned(git_repo, FILES, "shop/cart.py", CART.replace("base + extra", "base - extra"))


def _offered(result: ReviewResult, role: str) -> list[EvidenceItem]:
    """Everything retrieval offered for the role, sent or not."""
    (review_pass,) = result.passes
    items = [*review_pass.items, *(omitted.item for omitted in review_pass.omitted)]
    return [item for item in items if item.role == role]


def test_callees_resolve_through_imports_self_and_module_aliases(result: ReviewResult) -> None:
    callees = {(item.path, item.symbol) for item in _offered(result, "callee")}
    assert ("shop/pricing.py", "price_of") in callees
    assert ("shop/tax.py", "apply") in callees
    assert ("shop/cart.py", "Cart.fee") in callees


def test_a_common_name_on_an_unknown_receiver_resolves_to_nothing(result: ReviewResult) -> None:
    """``self.items.get`` is a dict's ``get``: neither the unrelated ``Cache.get`` nor the test
    helper; and the test helper named ``price_of`` never stands for the real one."""
    paths = {item.path for item in _offered(result, "callee")}
    assert "shop/cache.py" not in paths
    assert "tests/helpers.py" not in paths


def test_tests_reach_the_unit_directly_and_through_a_resolved_caller(
    result: ReviewResult,
) -> None:
    tests = {item.symbol: item for item in _offered(result, "test")}
    assert "test_total_of_an_empty_cart" in tests
    assert "test_checkout_charges_the_total" in tests
    assert "exercises the caller" in tests["test_checkout_charges_the_total"].reason
    assert (
        tests["test_total_of_an_empty_cart"].score > tests["test_checkout_charges_the_total"].score
    )


def test_a_test_that_only_shares_a_callers_common_name_is_not_offered(
    result: ReviewResult,
) -> None:
    tests = {item.symbol for item in _offered(result, "test")}
    assert "test_route_match_on_big_carts" in tests
    assert "test_other_match" not in tests


def test_every_offered_item_has_its_sizes_smallest_first(result: ReviewResult) -> None:
    order = {"signature": 0, "lines": 1, "excerpt": 2, "whole": 3}
    for item in [*_offered(result, "caller"), *_offered(result, "test")]:
        ranks = [order[size] for size, _ in item.sizes]
        assert ranks == sorted(ranks) and ranks[0] == 0
        assert item.size in {size for size, _ in item.sizes}


SETTINGS = """\
class Settings(dict):
    def update(self, **kwargs):
        conf = dict(kwargs)
        conf.update(self)
        return Settings(conf)
"""

USES = """\
def apply_defaults(settings, params):
    return settings.update(**params)


def merge(conf, extra):
    conf.update(extra)
    return conf
"""


def test_a_receiver_named_like_the_class_outranks_an_unknown_one(
    git_repo: GitRepoFactory,
) -> None:
    """``settings.update`` is very likely ``Settings.update``; ``conf.update`` is anybody's
    ``update`` (a dict's, here), so it ranks below and says why."""
    files = {"conf/settings.py": SETTINGS, "conf/uses.py": USES}
    changed = SETTINGS.replace("dict(kwargs)", "dict(self)")
    planned = _planned(git_repo, files, "conf/settings.py", changed)
    callers = {item.symbol: item for item in _offered(planned, "caller")}
    assert callers["apply_defaults"].score > callers["merge"].score
    assert "named like Settings" in callers["apply_defaults"].reason
    assert "common name reached through `conf`" in callers["merge"].reason


BEARER = """\
class Bearer:
    def __init__(self, required=True):
        self.required = required

    def __call__(self, header):
        if not header.startswith("Bearer "):
            return None
        return header[7:]
"""

BEARER_TESTS = """\
from web.security import Bearer
from web.app import App

app = App()
security = Bearer(required=False)
app.protect("/me", security)


def test_me_with_another_scheme():
    assert app.get("/me", header="Basic abc") is None


def test_me_without_a_token():
    assert app.get("/me", header="") is None


def helper():
    return app
"""


def test_tests_of_a_file_whose_set_up_uses_the_unit_are_offered(
    git_repo: GitRepoFactory,
) -> None:
    """A security scheme built once at module level and called by the framework on every
    request: the file's test cases exercise ``Bearer.__call__`` without naming it."""
    files = {
        "web/__init__.py": "",
        "web/security.py": BEARER,
        "web/app.py": "class App:\n    def get(self, path, header):\n        return header\n",
        "tests/test_me.py": BEARER_TESTS,
    }
    changed = BEARER.replace('"Bearer "', '"bearer "')
    planned = _planned(git_repo, files, "web/security.py", changed)
    tests = {item.symbol: item for item in _offered(planned, "test")}
    assert {"test_me_with_another_scheme", "test_me_without_a_token"} <= set(tests)
    assert "helper" not in tests
    assert "module-level code uses `Bearer`" in tests["test_me_with_another_scheme"].reason
    assert tests["test_me_with_another_scheme"].score < tests["<module>"].score


@pytest.mark.parametrize(
    ("receiver", "class_name", "expected"),
    [
        ("settings", "Settings", True),
        ("self.new_settings", "Settings", True),
        ("html_response", "HtmlResponse", True),
        ("response", "HtmlResponse", False),
        ("base", "RangeBase", False),
        ("conf", "Settings", False),
        ("obj", "Obj", False),
        ("env", "Environment", False),
    ],
)
def test_named_like(receiver: str, class_name: str, expected: bool) -> None:
    assert named_like(receiver, class_name) is expected


FILTERS = """\
class BaseFilter:
    def __init__(self, debug=False):
        self.debug = debug


class PathFilter(BaseFilter):
    def __init__(self, path=None, debug=False):
        super().__init__(debug)
        self.path = path

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.get("path"), settings.get("debug"))
"""

FILTER_USERS = """\
from store.filters import PathFilter


class Parser:
    def __init__(self, text):
        self.text = text


class StrictParser(Parser):
    def __init__(self, text):
        super(StrictParser, self).__init__(text.strip())


class DeepFilter(PathFilter):
    def __init__(self, path=None):
        super(DeepFilter, self).__init__(path, debug=True)


class Middle(PathFilter):
    def describe(self):
        return self.path


class DeeperFilter(Middle):
    def __init__(self):
        super().__init__("/deep")


class DeepestFilter(DeepFilter):
    def __init__(self):
        super().__init__("/deepest")
"""


def test_super_calls_resolve_only_in_subclasses_and_cls_calls_construct(
    git_repo: GitRepoFactory,
) -> None:
    """``super().__init__`` in a class reaches its bases: ``PathFilter.__init__`` from its
    subclasses, also through a ``Middle`` class that does not override it, but not through
    ``DeepFilter``, which does, and never from an unrelated ``Parser`` subclass; ``cls(...)``
    in a class method runs the constructor."""
    files = {
        "store/__init__.py": "",
        "store/filters.py": FILTERS,
        "store/users.py": FILTER_USERS,
    }
    changed = FILTERS.replace("self.path = path", "self.path = path or '.'")
    planned = _planned(git_repo, files, "store/filters.py", changed)
    callers = {item.symbol: item for item in _offered(planned, "caller")}
    assert "StrictParser.__init__" not in callers
    assert "DeepestFilter.__init__" not in callers
    assert "derives from `PathFilter`" in callers["DeepFilter.__init__"].reason
    assert "derives from `PathFilter`" in callers["DeeperFilter.__init__"].reason
    assert "call as `cls(...)` in `PathFilter`" in callers["PathFilter.from_settings"].reason
    assert callers["PathFilter.from_settings"].score == callers["DeepFilter.__init__"].score


PARSE_UTILS = """\
def unescape(text):
    return text.replace("&amp;", "&")


def clean(html):
    return unescape(html.strip())
"""


def _extractor(name: str) -> str:
    return (
        "from media.utils import unescape\n\n\n"
        f"class {name}:\n    def extract(self, page):\n        return unescape(page)\n"
    )


def test_equally_sure_callers_come_nearest_first_and_one_of_a_family_at_a_time(
    git_repo: GitRepoFactory,
) -> None:
    """Every caller here is sure (same module, or an import pins the name). The same
    module's comes first though `media/extractors/...` sorts before `media/utils.py`; of the
    three plugins' identical ``extract`` methods only the first ranks before the different
    ``Feed.render``."""
    files = {
        "media/__init__.py": "",
        "media/utils.py": PARSE_UTILS,
        "media/extractors/__init__.py": "",
        "media/extractors/alpha.py": _extractor("Alpha"),
        "media/extractors/beta.py": _extractor("Beta"),
        "media/extractors/gamma.py": _extractor("Gamma"),
        "media/feeds/__init__.py": "",
        "media/feeds/zfeed.py": (
            "from media.utils import unescape\n\n\n"
            "class Feed:\n    def render(self, item):\n        return unescape(item)\n"
        ),
    }
    changed = PARSE_UTILS.replace('"&amp;", "&"', '"&amp;", ""')
    planned = _planned(git_repo, files, "media/utils.py", changed)
    (review_pass,) = planned.passes
    order = [item.symbol for item in review_pass.items if item.role == "caller"]
    assert order == ["clean", "Alpha.extract", "Feed.render", "Beta.extract", "Gamma.extract"]


@pytest.mark.parametrize(
    ("path", "other", "expected"),
    [
        ("a/b/c.py", "a/b/c.py", 0),
        ("a/b/c.py", "a/b/d.py", 1),
        ("a/b/c.py", "a/e/d.py", 3),
        ("a/b/c.py", "a/b/x/d.py", 2),
        ("c.py", "d.py", 1),
    ],
)
def test_path_distance(path: str, other: str, expected: int) -> None:
    assert path_distance(path, other) == expected


ACCOUNTS = """\
def charge(account, amount):
    if account.balance - amount < -account.overdraft:
        raise ValueError("over the limit")
    account.balance -= amount
"""

ACCOUNT_TESTS = """\
from bank.accounts import charge


def test_charge_a():
    charge(Account(10), 5)


def test_charge_b():
    charge(Account(10), 1)


def test_charge_c():
    account = Account(0, overdraft=5)
    charge(account, 5)
"""


def test_among_equally_sure_tests_the_one_naming_the_diffs_identifiers_comes_first(
    git_repo: GitRepoFactory,
) -> None:
    """Three tests call ``charge`` alike; the one that sets ``overdraft``, which the changed
    line compares with, tests what the change touched."""
    files = {
        "bank/__init__.py": "",
        "bank/accounts.py": ACCOUNTS,
        "tests/test_accounts.py": ACCOUNT_TESTS,
    }
    changed = ACCOUNTS.replace("< -account.overdraft", "<= -account.overdraft")
    planned = _planned(git_repo, files, "bank/accounts.py", changed)
    tests = [item for item in _offered(planned, "test") if item.symbol.startswith("test_")]
    assert [item.symbol for item in tests] == ["test_charge_c", "test_charge_a", "test_charge_b"]
    assert len({item.score for item in tests}) == 1
    assert "`overdraft` from the diff" in tests[0].reason
