"""The llama.cpp build chosen per CPU: AVX-512 only with every extension it compiles with,
never AMX, runnable before anything is installed, and the one ``make setup`` installed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mythos_review.model.devices import AVX512_BASE_FLAGS, detect_device
from mythos_review.model.llama_build import build_options

REPOSITORY = Path(__file__).resolve().parents[2]
AVX2_MACHINE = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"})


def test_an_avx2_machine_gets_the_portable_build() -> None:
    arguments, key = build_options(AVX2_MACHINE)
    assert key == "avx2"
    assert "-DGGML_NATIVE=OFF" in arguments
    assert not [argument for argument in arguments if "AVX512" in argument]


def test_avx512f_without_the_extensions_ggml_compiles_with_stays_portable() -> None:
    # Xeon Phi (Knights Landing) has AVX-512 F and CD but not BW, DQ or VL.
    arguments, key = build_options(AVX2_MACHINE | {"avx512f", "avx512cd", "avx512er"})
    assert key == "avx2"
    assert "-DGGML_AVX512=ON" not in arguments


def test_each_optional_extension_is_enabled_only_when_present_and_named_in_the_key() -> None:
    arguments, key = build_options(AVX2_MACHINE | AVX512_BASE_FLAGS | {"avx512_vnni"})
    assert key == "avx512-vnni"
    assert "-DGGML_AVX512=ON" in arguments
    assert "-DGGML_AVX512_VNNI=ON" in arguments
    assert "-DGGML_AVX512_VBMI=ON" not in arguments
    assert "-DGGML_AVX512_BF16=ON" not in arguments


def test_amx_is_never_enabled_even_when_the_cpu_reports_it() -> None:
    flags = AVX2_MACHINE | AVX512_BASE_FLAGS | {"avx512vbmi", "avx512_vnni", "avx512_bf16"}
    arguments, key = build_options(flags | {"amx_tile", "amx_int8", "amx_bf16"})
    assert key == "avx512-vbmi-vnni-bf16"
    assert "-DGGML_AMX_TILE=OFF" in arguments
    enabled = [argument for argument in arguments if argument.endswith("=ON")]
    assert not [argument for argument in enabled if "AMX" in argument]


def test_the_makefile_can_run_it_with_the_standard_library_alone() -> None:
    # -S: no site-packages, as before the set-up has installed anything.
    result = subprocess.run(
        [sys.executable, "-S", "-m", "mythos_review.model.llama_build", "cmake-args"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == build_options(detect_device().cpu_flags)[0]


def test_the_installed_llama_cpp_has_the_kernels_set_up_chose_for_this_cpu() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")
    system_info = llama_cpp.llama_print_system_info().decode()
    arguments, key = build_options(detect_device().cpu_flags)
    wanted = {
        argument.removeprefix("-DGGML_").removesuffix("=ON")
        for argument in arguments
        if argument.startswith("-DGGML_AVX512") and argument.endswith("=ON")
    }
    built = {feature for feature in re.findall(r"(\w+) = 1", system_info) if "AVX512" in feature}
    assert built == wanted, (
        f"this CPU should get the {key} build of llama.cpp (AVX-512 features {sorted(wanted)}) but "
        f"the installed one reports {system_info.strip()!r}: run `make setup` again"
    )
