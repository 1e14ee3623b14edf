"""A small but realistic Python project (package, tests, a secret, a class): the files the
``sample_repo`` fixture (tests/conftest.py) commits, for the index and the commands on it."""

from __future__ import annotations

AUTH = '''\
"""Password checks and tokens."""

import hashlib

JWT_SECRET = "change-me"


def hash_password(password):
    return hashlib.sha256(password.encode()).hexdigest()


def verify_password(password, digest):
    """True when the password matches the stored digest."""
    return hash_password(password) == digest


class TokenSigner:
    def __init__(self, secret=JWT_SECRET):
        self.secret = secret

    def sign(self, payload):
        return f"{payload}.{self.secret}"

    def verify(self, token):
        payload, _, secret = token.rpartition(".")
        return secret == self.secret and self.sign(payload) == token
'''

API = """\
from app.auth import TokenSigner, verify_password


def login(user, password):
    if not verify_password(password, user.digest):
        return None
    return TokenSigner().sign(user.name)


def check(token):
    signer = TokenSigner()
    return signer.verify(token)


def outer():
    def inner():
        return login(None, "x")

    return inner
"""

TESTS = """\
from app.api import login
from app.auth import TokenSigner, hash_password, verify_password


def make_digest():
    return hash_password("pw")


def test_verify_password_accepts_the_right_one():
    assert verify_password("pw", make_digest())


class TestSigner:
    def test_roundtrip(self):
        signer = TokenSigner("s")
        assert signer.verify(signer.sign("x"))
"""
