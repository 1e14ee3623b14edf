"""Settings files and flags: every wrong type or range is one clear UsageError before any work
starts, and the settings a repository's own file gives are remembered as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from mythos_review.config import (
    MAX_PROMPT_TOKENS,
    SENSITIVE,
    AnalyzerCommand,
    Settings,
    load_settings,
)
from mythos_review.errors import UsageError


def _load(tmp_path: Path, text: str | bytes, **overrides: object) -> Settings:
    data = text.encode("utf-8") if isinstance(text, str) else text
    (tmp_path / ".mythos.toml").write_bytes(data)
    return load_settings(tmp_path, None, overrides)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('max_prompt_tokens = "lots"', "'max_prompt_tokens' must be a whole number, got 'lots'"),
        ("max_prompt_tokens = 2.5", "'max_prompt_tokens' must be a whole number"),
        ("max_passes = true", "'max_passes' must be a whole number, got True"),
        ("verify = 1", "'verify' must be a true or false"),
        ('section_shares = {callers = "x"}', "section_shares.callers must be a number"),
        ("section_shares = {callers = 0.2}", "unknown role 'callers' in section_shares"),
        ("section_shares = {test = -0.1}", "section_shares.test must be a number from 0 to 1"),
        ("section_shares = {map = 3}", "section_shares.map must be a number from 0 to 1"),
        ("section_shares = 0.5", "'section_shares' must be a table of numbers"),
        ('exclude = "vendor/**"', "'exclude' must be a list of strings"),
        ("exclude = [1, 2]", "'exclude' must be a list of strings"),
        ('fail_on = "catastrophic"', "'fail_on' is 'catastrophic'; choose one of high, medium"),
        ('backend = "gpt"', "'backend' is 'gpt'; choose one of auto"),
        ('quantize = "2bit"', "'quantize' is '2bit'; choose one of 4bit, 8bit"),
        ('on_error = "ignore"', "'on_error' is 'ignore'; choose one of fail, allow"),
        ("max_prompt_tokens = 0", "--max-prompt-tokens / max_prompt_tokens must be from 128"),
        ("max_prompt_tokens = 1_000_000_000_000", "must be from 128 to 1048576"),
        ("max_passes = 0", "--max-passes / max_passes must be at least 1"),
        ("window_lines = -1", "--window-lines / window_lines must be at least 0"),
        ("max_new_tokens = 0", "--max-new-tokens / max_new_tokens must be from 1"),
        ("colour = true", "unknown setting 'colour'"),
        ("from_repository = []", "unknown setting 'from_repository'"),
        ("max_passes = ", "cannot read settings from"),
        ('template_dir = "a\\u0000b"', "'template_dir' holds a NUL character"),
        ('exclude = ["ok", "a\\u0000"]', "'exclude' holds a NUL character"),
    ],
)
def test_a_wrong_value_is_one_clear_usage_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        _load(tmp_path, text + "\n")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_settings_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not UTF-8 text"):
        _load(tmp_path, b'model = "\xff\xfe"\n')


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("max_prompt_tokens", 0, "must be from 128"),
        ("max_prompt_tokens", 10**12, "must be from 128 to 1048576"),
        ("max_passes", 0, "must be at least 1"),
        ("max_rounds", -1, "must be at least 0"),
    ],
)
def test_flags_are_checked_like_the_file(
    tmp_path: Path, flag: str, value: int, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        load_settings(tmp_path, None, {flag: value})


def test_shares_merge_over_the_defaults(tmp_path: Path) -> None:
    settings = _load(tmp_path, "section_shares = {test = 0.3, map = 0}\n")
    assert settings.section_shares["test"] == 0.3 and settings.section_shares["map"] == 0.0
    assert settings.section_shares["unit"] == Settings().section_shares["unit"]


def test_the_largest_budget_is_accepted(tmp_path: Path) -> None:
    assert _load(tmp_path, f"max_prompt_tokens = {MAX_PROMPT_TOKENS}\n").max_prompt_tokens


def test_the_repository_file_is_remembered_and_a_flag_takes_a_setting_back(
    tmp_path: Path,
) -> None:
    settings = _load(tmp_path, 'base_url = "http://team:8000"\nmax_passes = 4\n', max_passes=9)
    assert settings.from_repository == {"base_url"}
    assert settings.max_passes == 9


def test_a_file_the_user_names_is_theirs(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text('base_url = "http://team:8000"\n', encoding="utf-8")
    settings = load_settings(tmp_path, str(config), {})
    assert settings.base_url == "http://team:8000" and not settings.from_repository


@pytest.mark.parametrize("name", ["template_dir", "baseline"])
@pytest.mark.parametrize("value", ["/etc", "../outside", "~/.ssh"])
def test_a_repository_may_name_paths_only_inside_itself(
    tmp_path: Path, name: str, value: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    with pytest.raises(UsageError, match=f"{name} = .* points outside the repository"):
        _load(repo, f'{name} = "{value}"\n')


def test_a_symlink_out_of_the_repository_is_outside_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prompts").symlink_to(tmp_path)
    with pytest.raises(UsageError, match="points outside the repository"):
        _load(repo, 'template_dir = "prompts"\n')


def test_paths_inside_are_made_absolute_from_the_root(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'template_dir = "prompts"\n')
    assert settings.template_dir == str(tmp_path / "prompts")


def test_a_trusted_table_replaces_the_sensitive_settings_with_a_notice(tmp_path: Path) -> None:
    notices: list[str] = []
    (tmp_path / ".mythos.toml").write_text(
        'base_url = "http://attacker:1"\napi_key_env = "AWS_SECRET"\nmax_passes = 3\n',
        encoding="utf-8",
    )
    settings = load_settings(
        tmp_path, None, {}, trusted={"base_url": "http://team:8000"}, notice=notices.append
    )
    assert settings.base_url == "http://team:8000"
    assert settings.api_key_env == Settings().api_key_env
    assert settings.max_passes == 3
    assert settings.from_repository == {"max_passes"}
    assert not settings.from_repository & SENSITIVE
    assert len(notices) == 2 and all("never come from the change" in n for n in notices)


def _analyzers(tmp_path: Path, toml: str) -> tuple[AnalyzerCommand, ...]:
    (tmp_path / ".mythos.toml").write_text(toml)
    return load_settings(tmp_path).analyzers


def test_analyzers_are_tables_with_a_name_and_a_command(tmp_path: Path) -> None:
    analyzers = _analyzers(
        tmp_path,
        """
analysis = true

[[analyzers]]
name = "semgrep"
command = ["semgrep", "scan", "--sarif", "{dir}"]
category = "security"
timeout = 300
""",
    )
    assert analyzers == (
        AnalyzerCommand("semgrep", ("semgrep", "scan", "--sarif", "{dir}"), "security", 300.0),
    )
    assert load_settings(tmp_path).analysis is True


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('analyzers = ["semgrep"]', "must be a table"),
        ('analyzers = {name = "x"}', "must be a list of tables"),
        ('[[analyzers]]\nname = "x"', "needs a command"),
        ('[[analyzers]]\nname = "x"\ncommand = []', "needs a command"),
        ('[[analyzers]]\nname = "../x"\ncommand = ["x"]', "needs a name"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\ncategory = "style"', "category"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\ntimeout = 0', "timeout"),
        ('[[analyzers]]\nname = "x"\ncommand = ["x"]\nenv = {}', "do not know env"),
    ],
)
def test_a_wrong_analyzer_entry_is_a_usage_error(tmp_path: Path, entry: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        _analyzers(tmp_path, entry)
