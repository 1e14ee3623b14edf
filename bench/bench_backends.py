"""Model backends on this machine: prefill and decode speed, JSON-grammar cost, load time, and
the CPU prompt budget that keeps one review pass near 20 seconds.

Every backend is opened the way ``mythos review`` opens it (``choose_model``), on the same
embedded GGUF file and the same prompts, so the numbers compare backends and not set-ups; a
backend added to ``model/select.py`` is measured by naming it in ``--backends``.
Each measurement uses a prompt with a fresh first line, so no backend can serve it from a
cache left by the one before. Results are printed as Markdown for docs/PERFORMANCE.md and
optionally written as JSON. Run: ``.venv/bin/python bench/bench_backends.py --help``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mythos_review.config import Settings
from mythos_review.model.backends.base import Backend, Chat, DecodingSettings, Generation
from mythos_review.model.devices import detect_device
from mythos_review.model.select import choose_model
from mythos_review.prompt.render import PromptRenderer
from mythos_review.prompt.schema import FINDINGS_SCHEMA

REPOSITORY = Path(__file__).resolve().parents[1]
CPU_FLAGS_OF_INTEREST = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
PASS_NEW_TOKENS = 150
"""New tokens in a typical review pass (a JSON answer with one or two findings)."""
PASS_SECONDS_GOAL = 20.0
MAX_CHARS_PER_TOKEN = 8
"""More characters than code ever packs into one token: bounds the bisection's search."""

FORCED_ANSWER = {
    "findings": [
        {
            "path": "pkg/window.py",
            "start_line": 14,
            "end_line": 14,
            "severity": "high",
            "category": "bug",
            "title": "Off-by-one: window returns size - 1 items",
            "message": "The slice starts one element too late, so the last `size` items are "
            "not all returned; callers that expect exactly `size` items get one fewer.",
            "evidence": "return items[len(items) - size + 1 :]",
            "fix": "return items[len(items) - size :]",
        }
    ]
}
"""The decode benchmark asks the model to copy this, so free and constrained decoding write
(nearly) the same tokens and their per-token speeds compare like for like."""


@dataclass
class DecodeResult:
    tokens: int
    seconds: float
    tokens_per_second: float


@dataclass
class BackendResult:
    model: str
    backend: str
    load_seconds: list[float] = field(default_factory=list)
    """Opening the backend in a fresh process: first, then second (page cache and caches warm)."""
    prefill_tokens_per_second: dict[int, float] = field(default_factory=dict)
    """Prompt tokens -> prompt tokens per second."""
    free: DecodeResult | None = None
    constrained: DecodeResult | None = None

    @property
    def grammar_cost(self) -> float | None:
        """How much slower constrained decoding runs than free decoding (0.05 = 5 %)."""
        if self.free is None or self.constrained is None:
            return None
        return self.free.tokens_per_second / self.constrained.tokens_per_second - 1

    def pass_seconds(self, prompt_tokens: int) -> float | None:
        """Prefill of ``prompt_tokens`` plus ``PASS_NEW_TOKENS`` decoded tokens."""
        rate = self.prefill_tokens_per_second.get(prompt_tokens)
        if rate is None or self.free is None:
            return None
        return prompt_tokens / rate + PASS_NEW_TOKENS / self.free.tokens_per_second


def machine() -> dict[str, Any]:
    device = detect_device()
    info: dict[str, Any] = {
        "cpu": device.cpu_model,
        "cores": device.cores,
        "flags": {flag: flag in device.cpu_flags for flag in CPU_FLAGS_OF_INTEREST},
        "load_average_at_start": os.getloadavg(),
        "python": sys.version.split()[0],
    }
    try:
        info["llama_cpp_python"] = importlib.metadata.version("llama-cpp-python")
        import llama_cpp

        info["llama_cpp_build"] = llama_cpp.llama_print_system_info().decode().strip()
    except importlib.metadata.PackageNotFoundError:
        info["llama_cpp_python"] = None
    for package in ("torch", "transformers"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info


CHAIN_BACKEND = "llamacpp-chain"
"""The llama.cpp backend with greedy answers through llama-cpp-python's sampler chain (the
grammar masks the whole vocabulary per token): the anchor our decode loop is measured against."""


def open_backend(model: str, backend: str, max_prompt_tokens: int, max_new_tokens: int) -> Backend:
    """The backend exactly as ``mythos review --model M --backend B`` opens it (or the chain)."""
    if backend == CHAIN_BACKEND:
        from mythos_review.model.backends.llamacpp import LlamaCppBackend
        from mythos_review.model.registry import resolve_model

        return LlamaCppBackend.from_spec(
            resolve_model(model),
            max_prompt_tokens=max_prompt_tokens,
            max_new_tokens=max_new_tokens,
            greedy_loop=False,
        )
    settings = Settings(
        model=model,
        backend=backend,
        max_prompt_tokens=max_prompt_tokens,
        max_new_tokens=max_new_tokens,
    )
    return choose_model(settings).open_backend()


def measure_load(model: str, backend: str, runs: int = 2) -> list[float]:
    """Seconds to open the backend in fresh processes, the way a pre-commit hook pays it."""
    script = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from bench_backends import open_backend\n"
        "started = time.perf_counter()\n"
        "open_backend(sys.argv[2], sys.argv[3], 2048, 256)\n"
        "print(time.perf_counter() - started)\n"
    )
    seconds = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", script, str(Path(__file__).parent), model, backend],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds.append(float(result.stdout.strip().splitlines()[-1]))
    return seconds


class PromptMaker:
    """Review-style chats of an exact token length, each with a first line never seen before."""

    def __init__(self, backend: Backend, system_prompt: str) -> None:
        self._backend = backend
        self._system = system_prompt
        sources = sorted((REPOSITORY / "mythos_review").rglob("*.py"))
        self._code = "\n".join(path.read_text(encoding="utf-8") for path in sources)
        self._serial = 0

    def _fresh_system(self) -> str:
        self._serial += 1
        return f"Session {time.time_ns()}-{self._serial}.\n{self._system}"

    def of_length(self, prompt_tokens: int) -> Chat:
        """System prompt plus repository code, cut by bisection to exactly ``prompt_tokens``."""
        system = self._fresh_system()
        low, high = 0, min(len(self._code), prompt_tokens * MAX_CHARS_PER_TOKEN)
        while low < high:
            middle = (low + high + 1) // 2
            if self._count(system, self._code[:middle]) <= prompt_tokens:
                low = middle
            else:
                high = middle - 1
        return self._chat(system, self._code[:low])

    def copy_task(self) -> Chat:
        answer = json.dumps(FORCED_ANSWER)
        return self._chat(
            self._fresh_system(),
            f"Answer with exactly this JSON object, character for character:\n{answer}",
        )

    def _count(self, system: str, user: str) -> int:
        return self._backend.count_chat(self._chat(system, user))

    @staticmethod
    def _chat(system: str, user: str) -> Chat:
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _one(
    backend: Backend, chat: Chat, new_tokens: int, schema: Mapping[str, Any] | None
) -> Generation:
    [generation] = backend.generate([chat], DecodingSettings(max_new_tokens=new_tokens), schema)
    return generation


def measure_prefill(
    backend: Backend, prompts: PromptMaker, lengths: Sequence[int]
) -> dict[int, float]:
    """Prompt tokens per second: a one-token answer to a prompt of each length."""
    return {
        length: length / _one(backend, prompts.of_length(length), 1, None).seconds
        for length in lengths
    }


def measure_decode(
    backend: Backend, prompts: PromptMaker, schema: Mapping[str, Any] | None
) -> DecodeResult:
    """New tokens per second after the prompt: the answer's time less the same prompt's
    prefill (measured alone, on a twin prompt with a different first line)."""
    chat = prompts.copy_task()
    prefill = _one(backend, prompts.copy_task(), 1, schema).seconds
    answer = _one(backend, chat, 2 * PASS_NEW_TOKENS, schema)
    decode_seconds = answer.seconds - prefill
    return DecodeResult(
        tokens=answer.completion_tokens,
        seconds=decode_seconds,
        tokens_per_second=(answer.completion_tokens - 1) / decode_seconds,
    )


def measure(
    model: str, backend_name: str, lengths: Sequence[int], system_prompt: str
) -> BackendResult:
    result = BackendResult(model=model, backend=backend_name)
    result.load_seconds = measure_load(model, backend_name)
    backend = open_backend(model, backend_name, max(lengths), 2 * PASS_NEW_TOKENS)
    try:
        prompts = PromptMaker(backend, system_prompt)
        result.prefill_tokens_per_second = measure_prefill(backend, prompts, lengths)
        result.free = measure_decode(backend, prompts, None)
        result.constrained = measure_decode(backend, prompts, FINDINGS_SCHEMA)
    finally:
        backend.close()
    return result


def sweep_n_batch(
    model: str, sizes: Sequence[int], prompt_tokens: int, system_prompt: str
) -> dict[int, float]:
    """Prefill speed of the llama.cpp backend per ``n_batch``: how DEFAULT_N_BATCH was chosen."""
    from mythos_review.model.backends.llamacpp import LlamaCppBackend
    from mythos_review.model.registry import resolve_model

    speeds = {}
    for size in sizes:
        backend = LlamaCppBackend.from_spec(
            resolve_model(model), max_prompt_tokens=prompt_tokens, max_new_tokens=8, n_batch=size
        )
        try:
            speeds[size] = measure_prefill(
                backend, PromptMaker(backend, system_prompt), [prompt_tokens]
            )[prompt_tokens]
        finally:
            backend.close()
    return speeds


def recommend_budget(result: BackendResult) -> int | None:
    """The largest measured prompt length whose pass stays within the goal."""
    fitting = [
        length
        for length in result.prefill_tokens_per_second
        if (seconds := result.pass_seconds(length)) is not None and seconds <= PASS_SECONDS_GOAL
    ]
    return max(fitting, default=None)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(
    info: Mapping[str, Any], results: Sequence[BackendResult], batches: Mapping[int, float]
) -> str:
    flags = ", ".join(
        f"{flag} {'yes' if present else 'no'}" for flag, present in info["flags"].items()
    )
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores; {flags}.",
        f"llama-cpp-python {info['llama_cpp_python']}; "
        f"build: `{info.get('llama_cpp_build', 'n/a')}`.",
        f"torch {info['torch']}, transformers {info['transformers']}; load average at start "
        + "/".join(f"{value:.1f}" for value in info["load_average_at_start"])
        + ".",
        "",
        "| model | backend | load 1st / 2nd (s) | prefill tok/s (prompt tokens) "
        "| decode tok/s free | decode tok/s JSON grammar | grammar cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        prefill = ", ".join(
            f"{rate:.0f} ({length})" for length, rate in result.prefill_tokens_per_second.items()
        )
        cost = result.grammar_cost
        lines.append(
            f"| {result.model} | {result.backend} | "
            + " / ".join(f"{seconds:.1f}" for seconds in result.load_seconds)
            + f" | {prefill} | {_fmt(_rate(result.free))} "
            f"| {_fmt(_rate(result.constrained))} "
            f"| {_fmt(None if cost is None else cost * 100)} % |"
        )
    lines += ["", f"Estimated pass time (prefill + {PASS_NEW_TOKENS} new tokens):", ""]
    lines += [
        "| model | backend | " + " | ".join(f"{n} tok" for n in _lengths(results)) + " | budget |"
    ]
    lines += ["|---|---|" + "---|" * (len(_lengths(results)) + 1)]
    for result in results:
        cells = [_fmt(result.pass_seconds(length)) + " s" for length in _lengths(results)]
        lines.append(
            f"| {result.model} | {result.backend} | "
            + " | ".join(cells)
            + f" | {recommend_budget(result) or 'none'} |"
        )
    if batches:
        lines += [
            "",
            "llama.cpp prefill tok/s by n_batch: "
            + ", ".join(f"{size}: {rate:.0f}" for size, rate in batches.items()),
        ]
    return "\n".join(lines)


def _rate(decode: DecodeResult | None) -> float | None:
    return None if decode is None else decode.tokens_per_second


def _lengths(results: Sequence[BackendResult]) -> list[int]:
    return sorted({length for result in results for length in result.prefill_tokens_per_second})


def _csv(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    return lambda text: [kind(part) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", type=_csv(str), default=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    )
    parser.add_argument(
        "--backends",
        type=_csv(str),
        default=["llamacpp", "transformers"],
        help=f"backends of model/select.py, or {CHAIN_BACKEND} (llama-cpp-python's sampler chain)",
    )
    parser.add_argument("--prompt-tokens", type=_csv(int), default=[512, 1024, 1536, 2048, 3072])
    parser.add_argument("--n-batch", type=_csv(int), default=[], help="sweep llama.cpp n_batch")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    info = machine()
    system_prompt = PromptRenderer().system_prompt
    document: dict[str, Any] = {"machine": info, "results": [], "n_batch_prefill": {}}
    if args.n_batch:
        print(f"sweeping n_batch on {args.models[0]} ...", file=sys.stderr, flush=True)
        batches = sweep_n_batch(args.models[0], args.n_batch, 1024, system_prompt)
        document["n_batch_prefill"] = batches
        _save(args.json, document)
    results = []
    for model in args.models:
        for backend in args.backends:
            print(f"measuring {model} on {backend} ...", file=sys.stderr, flush=True)
            results.append(measure(model, backend, args.prompt_tokens, system_prompt))
            document["results"].append(asdict(results[-1]))
            _save(args.json, document)
    info["load_average_at_end"] = os.getloadavg()
    _save(args.json, document)
    print(markdown(info, results, document["n_batch_prefill"]))
    return 0


def _save(path: Path | None, document: Mapping[str, Any]) -> None:
    """Write what is measured so far: a failure late in a long run keeps the early numbers."""
    if path is not None:
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
