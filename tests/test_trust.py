"""Who may receive the code and the key: a server the repository's own settings name needs the
user's allow-list or a one-time confirmation; one the user named needs neither."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mythos_review.config import Settings
from mythos_review.errors import UsageError
from mythos_review.trust import allowed_hosts, check_server, server_of, user_config_path

TEAM = "http://llm.team.example:8000/v1"
FROM_REPOSITORY = replace(
    Settings(),
    backend="openai",
    base_url=TEAM,
    from_repository=frozenset({"backend", "base_url"}),
)


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "mythos-review" / "config.toml"


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("http://LLM.team:8000/v1", "llm.team:8000"),
        ("https://llm.team/v1", "llm.team:443"),
        ("http://user:pw@llm.team/", "llm.team:80"),
        ("http://[::1]:9000", "[::1]:9000"),
    ],
)
def test_servers_are_named_by_host_and_port(url: str, server: str) -> None:
    assert server_of(url) == server


def test_a_repository_server_nobody_allowed_is_refused_with_what_to_do() -> None:
    with pytest.raises(UsageError) as raised:
        check_server(FROM_REPOSITORY, {"MYTHOS_API_KEY": "k" * 12}, ask=None)
    message = str(raised.value)
    assert "would send the code under review and $MYTHOS_API_KEY to llm.team.example:8000" in (
        message
    )
    assert "MYTHOS_ALLOWED_HOSTS" in message and str(user_config_path()) in message
    assert "k" * 12 not in message


@pytest.mark.parametrize("listed", ["llm.team.example", "other, LLM.team.example:8000", TEAM])
def test_the_environment_allow_list_lets_it_through(listed: str) -> None:
    check_server(FROM_REPOSITORY, {"MYTHOS_ALLOWED_HOSTS": listed}, ask=None)


def test_another_port_of_an_allowed_host_and_port_is_not_allowed() -> None:
    with pytest.raises(UsageError, match="which you have not allowed"):
        check_server(FROM_REPOSITORY, {"MYTHOS_ALLOWED_HOSTS": "llm.team.example:9000"}, None)


def test_a_yes_in_a_terminal_is_remembered_in_the_users_config(user_config: Path) -> None:
    questions: list[str] = []

    def yes(question: str) -> bool:
        questions.append(question)
        return True

    check_server(FROM_REPOSITORY, {}, ask=yes)
    assert "Allow llm.team.example:8000 from now on? [y/N]" in questions[0]
    assert allowed_hosts({}) == {"llm.team.example:8000"}
    assert 'allowed_hosts = ["llm.team.example:8000"]' in user_config.read_text()
    check_server(FROM_REPOSITORY, {}, ask=None)  # now without asking


def test_a_no_in_a_terminal_refuses(user_config: Path) -> None:
    with pytest.raises(UsageError):
        check_server(FROM_REPOSITORY, {}, ask=lambda question: False)
    assert not user_config.exists()


def test_a_server_the_user_named_needs_no_consent() -> None:
    named = replace(FROM_REPOSITORY, from_repository=frozenset({"backend"}))
    check_server(named, {}, ask=None)
    check_server(replace(FROM_REPOSITORY, backend="auto"), {}, ask=None)  # never contacted


def test_a_key_variable_the_repository_chose_needs_consent_too() -> None:
    chosen = replace(FROM_REPOSITORY, api_key_env="AWS_SECRET_ACCESS_KEY")
    chosen = replace(chosen, from_repository=frozenset({"api_key_env"}))
    with pytest.raises(UsageError, match=r"settings \(api_key_env\)"):
        check_server(chosen, {"AWS_SECRET_ACCESS_KEY": "x"}, ask=None)


def test_the_users_config_holds_only_the_allow_list(user_config: Path) -> None:
    user_config.parent.mkdir(parents=True)
    user_config.write_text('allowed_hosts = ["a"]\nbase_url = "http://x"\n')
    with pytest.raises(UsageError, match="unknown key 'base_url'; it may hold only"):
        allowed_hosts({})
    user_config.write_text('allowed_hosts = "a"\n')
    with pytest.raises(UsageError, match="allowed_hosts must be a list of strings"):
        allowed_hosts({})
