"""Build the bundled example: a small shop library with one commit and a staged, buggy change.

``make demo`` runs this, then reviews the staged change. The change has a planted bug (the
bulk-discount threshold compared with ``>`` where the docstring and a test say "or more") in a
method that other code and tests call, and a harmless edit beside it, so every stage has
something real to find and something to leave alone.

Usage: python examples/make_demo_repo.py DEST   (DEST is removed and created anew)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PRICING_BEFORE = '''\
"""Prices, discounts and totals for a shopping cart."""

from dataclasses import dataclass

BULK_THRESHOLD = 10
BULK_DISCOUNT = 0.1


@dataclass
class Item:
    name: str
    unit_price: float
    quantity: int


class PriceCalculator:
    """Computes what a cart costs, including bulk discounts."""

    def __init__(self, tax_rate: float) -> None:
        self.tax_rate = tax_rate

    def line_total(self, item: Item) -> float:
        """Price of one cart line; orders of BULK_THRESHOLD or more get BULK_DISCOUNT."""
        total = item.unit_price * item.quantity
        if item.quantity >= BULK_THRESHOLD:
            total *= 1 - BULK_DISCOUNT
        return round(total, 2)

    def cart_total(self, items: list[Item]) -> float:
        subtotal = sum(self.line_total(item) for item in items)
        return round(subtotal * (1 + self.tax_rate), 2)


def find_item(items: list[Item], name: str) -> Item | None:
    for item in items:
        if item.name == name:
            return item
    return None
'''

PRICING_AFTER = PRICING_BEFORE.replace(
    "        if item.quantity >= BULK_THRESHOLD:\n",
    "        if item.quantity > BULK_THRESHOLD:\n",
).replace(
    "    def cart_total(self, items: list[Item]) -> float:\n"
    "        subtotal = sum(self.line_total(item) for item in items)\n",
    "    def cart_total(self, items: list[Item]) -> float:\n"
    "        subtotal = sum(self.line_total(item) for item in items if item.quantity)\n",
)

CHECKOUT = '''\
"""Checkout: turns a cart into an invoice line."""

from shop.pricing import Item, PriceCalculator, find_item


def invoice(items: list[Item], tax_rate: float) -> str:
    calculator = PriceCalculator(tax_rate)
    return f"total: {calculator.cart_total(items):.2f}"


def price_of(items: list[Item], name: str, tax_rate: float) -> float:
    item = find_item(items, name)
    return PriceCalculator(tax_rate).line_total(item)
'''

TESTS = """\
from shop.pricing import Item, PriceCalculator


def test_bulk_discount_starts_at_threshold():
    calculator = PriceCalculator(tax_rate=0.0)
    assert calculator.line_total(Item("pen", 1.0, 10)) == 9.0


def test_cart_total_adds_tax():
    calculator = PriceCalculator(tax_rate=0.5)
    assert calculator.cart_total([Item("pen", 2.0, 1)]) == 3.0
"""


def _git(dest: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=dest, check=True, stdout=subprocess.DEVNULL)


def build(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "shop").mkdir(parents=True)
    (dest / "tests").mkdir()
    _git(dest, "init", "--quiet", "--initial-branch=main")
    _git(dest, "config", "user.name", "Demo")
    _git(dest, "config", "user.email", "demo@example.invalid")
    (dest / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (dest / "shop" / "pricing.py").write_text(PRICING_BEFORE, encoding="utf-8")
    (dest / "shop" / "checkout.py").write_text(CHECKOUT, encoding="utf-8")
    (dest / "tests" / "test_pricing.py").write_text(TESTS, encoding="utf-8")
    _git(dest, "add", "-A")
    _git(dest, "commit", "--quiet", "-m", "Shop pricing")
    (dest / "shop" / "pricing.py").write_text(PRICING_AFTER, encoding="utf-8")
    _git(dest, "add", "shop/pricing.py")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    build(Path(sys.argv[1]))
