"""What this machine can run, found without importing torch (a dry run must stay light).

CUDA is detected from the NVIDIA driver's files; CPU features from /proc/cpuinfo. Machines
here differ from session to session (Intel with AMX and fast bf16, AMD with AVX2 only, where
bf16 runs about 8x slower than float32), so nothing is assumed.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CPU_PROMPT_TOKENS = 1024
"""Default prompt budget on a CPU without AVX-512: prefill of the 1.5B model runs at about 75
tokens per second there, so a pass stays near 20 s only with a small prompt
(docs/PERFORMANCE.md)."""

AVX512_PROMPT_TOKENS = 2048
"""Default prompt budget on a CPU with AVX-512, where ``make setup`` builds llama.cpp with its
AVX-512 kernels: prefill runs 1.5 times faster, and the time saved buys evidence back. On the
24 real bugs (docs/PERFORMANCE.md, two machines): callers and tests in the prompt 52% -> 74%
and 52% -> 60%, real detections 8 -> 11 or 12, the median review 34 s -> 51 or 60 s."""

AVX512_BASE_FLAGS = frozenset({"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})
"""What ggml compiles ``-DGGML_AVX512=ON`` with (``-mavx512f -mavx512cd -mavx512vl ...``): a
CPU has usable AVX-512 kernels only with all of them."""

GPU_PROMPT_TOKENS = 8000
"""Default prompt budget on a GPU, where prefill is cheap and more evidence pays."""


@dataclass(frozen=True)
class Device:
    cuda: bool
    cpu_model: str
    cpu_flags: frozenset[str]
    cores: int

    @property
    def native_bf16(self) -> bool:
        """bf16 matmuls in hardware (AMX or AVX-512 BF16); without them bf16 is slow."""
        return bool({"amx_bf16", "avx512_bf16"} & self.cpu_flags)

    @property
    def avx512(self) -> bool:
        return AVX512_BASE_FLAGS.issubset(self.cpu_flags)

    @property
    def default_prompt_tokens(self) -> int:
        if self.cuda:
            return GPU_PROMPT_TOKENS
        return AVX512_PROMPT_TOKENS if self.avx512 else CPU_PROMPT_TOKENS


def _cuda_present() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def _cpuinfo() -> tuple[str, frozenset[str]]:
    model, flags = "unknown CPU", frozenset[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


@cache
def detect_device() -> Device:
    model, flags = _cpuinfo()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Device(cuda=_cuda_present(), cpu_model=model, cpu_flags=flags, cores=cores or 1)


def busy_cores(sample_s: float = 0.2) -> float:
    """How many cores other work keeps busy right now, from two reads of ``/proc/stat``.

    The load average lags by a minute: right after heavy work it still reports busy cores on
    an idle machine (and picked one thread where two were free). Elsewhere it is the fallback.
    """

    def totals() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    try:
        total_before, idle_before = totals()
        time.sleep(sample_s)
        total_after, idle_after = totals()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    elapsed = total_after - total_before
    if elapsed <= 0:
        return 0.0
    busy_share = 1.0 - (idle_after - idle_before) / elapsed
    return busy_share * (os.cpu_count() or 1)


def free_cores() -> int:
    """The cores no other process keeps busy (at least one), within this process's affinity.

    Inference kernels (torch's, llama.cpp's OpenMP) wait at a barrier for every thread, so a
    thread without a free core stalls each step. Measured on 2 cores while another process kept
    them busy: the 0.5B decoded 1.2 tokens/s with torch on 2 threads, 7.1 on 1; two llama.cpp
    processes of 2 threads each took over ten times as long as one after the other.
    """
    cores = detect_device().cores
    return max(1, min(cores, cores - round(busy_cores())))
