"""The llama.cpp build that suits this CPU: the CMake flags for llama-cpp-python, and a key.

llama.cpp's native build (``-DGGML_NATIVE=ON``) crashes on some of the machines this project
runs on, and its portable default stops at AVX2, which leaves AVX-512 machines 1.6 times
slower at prefill (docs/PERFORMANCE.md). So the set-up detects the instruction sets itself
and turns on the AVX-512 kernels only where the CPU reports every extension they are compiled
with. AMX is never turned on: on these virtual machines the CPU reports AMX, but a build with
its kernels dies with SIGILL (measured).

The key names the instruction sets of a build; ``make setup`` keeps each built wheel under its
key, because pip's own wheel cache ignores ``CMAKE_ARGS`` and would hand an AVX-512 build to an
AVX2-only machine that shares the cache. Stdlib only: the Makefile runs it before anything is
installed (``python3 -m mythos_review.model.llama_build cmake-args``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from mythos_review.model.devices import AVX512_BASE_FLAGS, detect_device

PORTABLE_CMAKE_ARGS = ("-DGGML_NATIVE=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF")
AVX512_EXTENSIONS = (
    ("avx512vbmi", "GGML_AVX512_VBMI", "vbmi"),
    ("avx512_vnni", "GGML_AVX512_VNNI", "vnni"),
    ("avx512_bf16", "GGML_AVX512_BF16", "bf16"),
)
"""(/proc/cpuinfo flag, ggml CMake option, part of the key) for each optional extension."""


def build_options(cpu_flags: Iterable[str]) -> tuple[list[str], str]:
    """The CMake arguments and the key of the build for a CPU with these flags."""
    flags = frozenset(cpu_flags)
    arguments = list(PORTABLE_CMAKE_ARGS)
    if not AVX512_BASE_FLAGS.issubset(flags):
        return arguments, "avx2"
    arguments.append("-DGGML_AVX512=ON")
    key = ["avx512"]
    for flag, option, name in AVX512_EXTENSIONS:
        if flag in flags:
            arguments.append(f"-D{option}=ON")
            key.append(name)
    return arguments, "-".join(key)


def install_command(cpu_flags: Iterable[str]) -> str:
    """How to install the llama.cpp backend with the build that suits this CPU."""
    arguments, _ = build_options(cpu_flags)
    return f"CMAKE_ARGS=\"{' '.join(arguments)}\" pip install 'mythos-review[llamacpp]'"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("cmake-args", "key"))
    args = parser.parse_args(argv)
    arguments, key = build_options(detect_device().cpu_flags)
    print(" ".join(arguments) if args.what == "cmake-args" else key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
