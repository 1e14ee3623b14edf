"""The in-process Hugging Face transformers backend: GPUs first, any CPU as a fallback.

torch and transformers are imported in the constructor only, so a dry run or a fully cached
review never pays for them. A GGUF file is dequantized once (about a minute) into dense
safetensors next to the assembled model, keyed by the file's sha256, and later loads read those
(a few seconds). Prompts are rendered and tokenized by our own ``ChatTokenizer`` for GGUF models,
so the chat template and the token counts are the very ones the packer budgeted with, on every
backend.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.model.backends.base import Chat, DecodingSettings, Generation
from mythos_review.model.devices import detect_device, free_cores
from mythos_review.model.registry import model_cache_dir, model_path, resolve_model
from mythos_review.model.tokenizer import ChatTokenizer, read_gguf_metadata

if TYPE_CHECKING:
    from mythos_review.model.backends.constrained import JsonConstraintFactory, TokenVocabulary

Quantization = Literal["4bit", "8bit"]

INSTALL_HINT = "pip install 'mythos-review[transformers]'"
GPU_INSTALL_HINT = "pip install 'mythos-review[transformers,gpu]'"

_DENSE_FORMAT = 1
"""Bump when the dense checkpoint written from a GGUF changes, to ignore older ones."""

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CPU_BATCH_SIZE = 1
"""On a CPU one prompt at a time: batching only adds padding to compute-bound work."""
_GPU_BATCH_SIZE = 8


class PromptTokenizer(Protocol):
    """What generation needs from a tokenizer: the chat as text, ids, and the vocabulary."""

    @property
    def stop_token_ids(self) -> tuple[int, ...]: ...

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def vocabulary(self) -> TokenVocabulary: ...


class GGUFPromptTokenizer:
    """Our ``ChatTokenizer`` of a GGUF file, plus the raw vocabulary the constraint indexes."""

    def __init__(self, path: Path, chat: ChatTokenizer | None = None) -> None:
        self._path = path
        self._chat = chat or ChatTokenizer.from_gguf(path)
        self._stop_ids = tuple(
            dict.fromkeys(self._single_id(token) for token in self._chat.end_of_turn_tokens)
        )

    def _single_id(self, token: str) -> int:
        ids = self._chat.encode(token)
        if len(ids) != 1:
            raise UsageError(f"{self._path}: the stop token {token!r} is not a single token")
        return ids[0]

    @property
    def stop_token_ids(self) -> tuple[int, ...]:
        return self._stop_ids

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        return self._chat.render_chat(messages)

    def encode(self, text: str) -> list[int]:
        return self._chat.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self._chat.decode(ids)

    def vocabulary(self) -> TokenVocabulary:
        from mythos_review.model.backends.constrained import TokenVocabulary, token_bytes

        metadata = read_gguf_metadata(self._path)
        tokens = [str(token) for token in _metadata_list(metadata, "tokenizer.ggml.tokens")]
        types = _metadata_list(metadata, "tokenizer.ggml.token_type")
        byte_level = metadata.get("tokenizer.ggml.model") == "gpt2"
        control_or_unused = {3, 5}
        return TokenVocabulary(
            tokens=[token_bytes(token, byte_level=byte_level) for token in tokens],
            special_ids=frozenset(i for i, kind in enumerate(types) if kind in control_or_unused),
            stop_ids=self._stop_ids,
        )


def _metadata_list(metadata: Mapping[str, Any], key: str) -> list[Any]:
    value = metadata.get(key)
    if not isinstance(value, list):
        raise UsageError(f"the GGUF file has no {key!r}; it cannot be constrained")
    return value


class HFPromptTokenizer:
    """A transformers tokenizer of a model directory or hub checkpoint, with its chat template."""

    def __init__(self, tokenizer: Any, generation_eos: int | list[int] | None) -> None:
        self._tokenizer = tokenizer
        stops = [tokenizer.eos_token_id]
        stops += generation_eos if isinstance(generation_eos, list) else [generation_eos]
        end_of_turn = tokenizer.convert_tokens_to_ids("<end_of_turn>")  # Gemma's turn end
        if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
            stops.append(end_of_turn)
        self._stop_ids = tuple(dict.fromkeys(stop for stop in stops if isinstance(stop, int)))

    @property
    def stop_token_ids(self) -> tuple[int, ...]:
        return self._stop_ids

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        rendered = self._tokenizer.apply_chat_template(
            [dict(message) for message in messages], tokenize=False, add_generation_prompt=True
        )
        return str(rendered)

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids)))

    def vocabulary(self) -> TokenVocabulary:
        from mythos_review.model.backends.constrained import TokenVocabulary, token_bytes

        tokens = self._tokenizer.convert_ids_to_tokens(list(range(len(self._tokenizer))))
        byte_level = "<0x0A>" not in self._tokenizer.get_vocab()
        return TokenVocabulary(
            tokens=[token_bytes(token or "", byte_level=byte_level) for token in tokens],
            special_ids=frozenset(self._tokenizer.all_special_ids),
            stop_ids=self._stop_ids,
        )


@dataclass(frozen=True)
class _Source:
    """Where the weights come from and what pins them."""

    load_from: str
    revision: str
    gguf: Path | None


class TransformersBackend:
    """Greedy generation with transformers, JSON-constrained by llguidance."""

    def __init__(
        self,
        model: str | Path,
        *,
        model_name: str | None = None,
        revision: str | None = None,
        tokenizer: PromptTokenizer | None = None,
        dtype: str = "auto",
        device: str = "auto",
        quantize: Quantization | None = None,
        batch_size: int | None = None,
    ) -> None:
        """Load ``model``: a ``.gguf`` file, a local checkpoint directory or a hub id.

        ``revision`` skips hashing a GGUF whose sha256 is known. ``tokenizer`` overrides the
        model's own (tests pair a tiny random model with a real tokenizer). ``batch_size``
        defaults to one prompt at a time on a CPU and 8 on a GPU.
        """
        try:
            import torch
            import transformers
        except ImportError as error:
            raise UsageError(
                f"the transformers backend needs torch and transformers ({error.name} is "
                f"missing); install them with {INSTALL_HINT}, or install the CPU default "
                "instead (pip install 'mythos-review[llamacpp,model]'; in a pre-commit hook: "
                'additional_dependencies: [".[llamacpp,model]"]), or review with a model '
                'server (backend = "openai" and base_url in .mythos.toml)'
            ) from None
        _quiet(transformers)
        self._torch = torch
        self._device = _choose_device(torch, device)
        self._dtype = _choose_dtype(torch, dtype, self._device)
        if "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(free_cores())
        source = _resolve_source(model, revision, self._dtype)
        self._name = model_name or _display_name(model)
        self._revision = source.revision
        started = time.perf_counter()
        self._model = self._load_model(source, quantize)
        self._tokenizer = tokenizer or self._load_tokenizer(source)
        self.load_seconds = time.perf_counter() - started
        self._batch_size = batch_size or (_GPU_BATCH_SIZE if self._on_gpu else _CPU_BATCH_SIZE)
        self._constraints: JsonConstraintFactory | None = None
        self._pad_id = _pad_id(self._model, self._tokenizer)

    @classmethod
    def from_gguf(
        cls, path: Path, tokenizer: ChatTokenizer | None = None, **options: Any
    ) -> TransformersBackend:
        """A GGUF file, prompted through ``tokenizer`` (read from the file when not given)."""
        return cls(path, tokenizer=GGUFPromptTokenizer(path, tokenizer), **options)

    @classmethod
    def from_pretrained(cls, model: str | Path, **options: Any) -> TransformersBackend:
        """A checkpoint directory or a hub id, with the tokenizer and chat template it ships."""
        return cls(model, **options)

    @classmethod
    def from_registry(cls, model_name: str, **options: Any) -> TransformersBackend:
        """An embedded model by its registry name (``qwen2.5-coder-1.5b``)."""
        spec = resolve_model(model_name)
        return cls.from_gguf(
            model_path(spec), model_name=spec.name, revision=spec.sha256, **options
        )

    @property
    def name(self) -> str:
        return "transformers"

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def dtype(self) -> str:
        return str(self._dtype).removeprefix("torch.")

    @property
    def _on_gpu(self) -> bool:
        return self._device.startswith("cuda")

    def count_chat(self, chat: Chat) -> int:
        return len(self._tokenizer.encode(self._tokenizer.render_chat(chat)))

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text))

    def generate(
        self,
        chats: Sequence[Chat],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None = None,
    ) -> list[Generation]:
        prompts = [self._tokenizer.encode(self._tokenizer.render_chat(chat)) for chat in chats]
        results: list[Generation] = []
        for start in range(0, len(prompts), self._batch_size):
            batch = prompts[start : start + self._batch_size]
            results.extend(self._generate_batch(batch, decoding, schema))
        return results

    def close(self) -> None:
        del self._model
        if self._on_gpu:
            self._torch.cuda.empty_cache()

    def _load_model(self, source: _Source, quantize: Quantization | None) -> Any:
        from transformers import AutoModelForCausalLM, GenerationConfig

        options: dict[str, Any] = {"dtype": self._dtype}
        if self._on_gpu:
            options["device_map"] = "auto"
        if quantize is not None:
            options["quantization_config"] = _quantization_config(
                self._torch, quantize, self._on_gpu
            )
        try:
            model: Any = AutoModelForCausalLM.from_pretrained(source.load_from, **options)
        except OSError as error:
            raise UsageError(
                f"cannot load model {source.load_from!r}: {error}; check the path, or for a hub "
                "model the name, the licence acceptance and HF_TOKEN (HF_HUB_OFFLINE=1 allows "
                "only models already in the hub cache)"
            ) from error
        model.eval()
        # Our own greedy settings: hub checkpoints ship sampling defaults and repetition penalties.
        model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
            bos_token_id=model.generation_config.bos_token_id,
            eos_token_id=model.generation_config.eos_token_id,
            pad_token_id=model.generation_config.pad_token_id,
        )
        return model

    def _load_tokenizer(self, source: _Source) -> PromptTokenizer:
        if source.gguf is not None:
            return GGUFPromptTokenizer(source.gguf)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source.load_from)
        return HFPromptTokenizer(tokenizer, self._model.generation_config.eos_token_id)

    def _constraint_factory(self) -> JsonConstraintFactory:
        """Built on the first constrained pass (about 0.5 s), then reused."""
        if self._constraints is None:
            from mythos_review.model.backends.constrained import JsonConstraintFactory

            vocab_size = self._model.config.get_text_config().vocab_size
            self._constraints = JsonConstraintFactory(
                self._tokenizer.vocabulary(), self._tokenizer.encode, vocab_size
            )
        return self._constraints

    def _generate_batch(
        self,
        prompts: list[list[int]],
        decoding: DecodingSettings,
        schema: Mapping[str, Any] | None,
    ) -> list[Generation]:
        torch = self._torch
        from transformers import LogitsProcessorList

        width = max(len(prompt) for prompt in prompts)
        input_ids = torch.tensor(
            [[self._pad_id] * (width - len(prompt)) + prompt for prompt in prompts]
        )
        attention_mask = torch.tensor(
            [[0] * (width - len(prompt)) + [1] * len(prompt) for prompt in prompts]
        )
        constraint = None
        processors = LogitsProcessorList()
        if schema is not None:
            constraint = self._constraint_factory().processor(
                schema,
                batch_size=len(prompts),
                prompt_length=width,
                max_new_tokens=decoding.max_new_tokens,
            )
            processors.append(constraint)
        sampling: dict[str, Any] = {"do_sample": False}
        if decoding.temperature > 0:
            torch.manual_seed(decoding.seed)
            sampling = {"do_sample": True, "temperature": decoding.temperature}
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = self._model.generate(
                    input_ids=input_ids.to(self._model.device),
                    attention_mask=attention_mask.to(self._model.device),
                    max_new_tokens=decoding.max_new_tokens,
                    eos_token_id=list(self._tokenizer.stop_token_ids),
                    pad_token_id=self._pad_id,
                    logits_processor=processors,
                    **sampling,
                )
        except torch.OutOfMemoryError as error:
            raise RuntimeFailure(
                f"out of memory while generating ({error}); use --quantize 4bit or a smaller "
                "--max-prompt-tokens"
            ) from error
        seconds = (time.perf_counter() - started) / len(prompts)
        closed_early = constraint.closed_early if constraint else [False] * len(prompts)
        return [
            self._answer(row[width:].tolist(), len(prompt), seconds, cut, schema is not None)
            for row, prompt, cut in zip(output, prompts, closed_early, strict=True)
        ]

    def _answer(
        self, new_ids: list[int], prompt_tokens: int, seconds: float, cut: bool, is_json: bool
    ) -> Generation:
        stops = set(self._tokenizer.stop_token_ids)
        end = next((i for i, token in enumerate(new_ids) if token in stops), None)
        answer_ids = new_ids if end is None else new_ids[:end]
        text = self._tokenizer.decode(answer_ids)
        finish_reason = "stop" if end is not None and not cut else "length"
        if is_json and not _parses(text):
            finish_reason = "error"
        return Generation(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(new_ids) if end is None else end + 1,
            seconds=seconds,
            finish_reason=finish_reason,
        )


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _quiet(transformers: Any) -> None:
    """No progress bars or advice on stderr: our progress bar and errors own it."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _choose_device(torch: Any, device: str) -> str:
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _choose_dtype(torch: Any, dtype: str, device: str) -> Any:
    """bf16 on GPUs and CPUs with native bf16; float32 elsewhere, where bf16 is ~8x slower."""
    if dtype != "auto":
        chosen = getattr(torch, dtype, None)
        if not isinstance(chosen, torch.dtype):
            raise UsageError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
        return chosen
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if detect_device().native_bf16 else torch.float32


def _quantization_config(torch: Any, quantize: Quantization, on_gpu: bool) -> Any:
    if not on_gpu:
        raise UsageError(
            f"--quantize {quantize} needs a CUDA GPU (bitsandbytes); on a CPU use the llamacpp "
            "backend, which runs the quantized GGUF file as it is"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise UsageError(f"--quantize needs bitsandbytes; install it with {GPU_INSTALL_HINT}")
    from transformers import BitsAndBytesConfig

    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)  # type: ignore[no-untyped-call]
    return BitsAndBytesConfig(  # type: ignore[no-untyped-call]
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )


def _display_name(model: str | Path) -> str:
    path = Path(model)
    return path.stem if path.suffix == ".gguf" else path.name if path.exists() else str(model)


def _resolve_source(model: str | Path, revision: str | None, dtype: Any) -> _Source:
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise UsageError(f"{path} is a file but not a .gguf model")
        sha256 = revision or _gguf_sha256(path)
        return _Source(str(dense_checkpoint(path, sha256, dtype)), sha256, path)
    if path.is_dir():
        return _Source(str(path), revision or _directory_revision(path), None)
    if isinstance(model, str) and _HUB_ID.match(model) and not model.startswith("."):
        return _Source(model, revision or model, None)
    raise UsageError(
        f"model {str(model)!r} is neither a .gguf file, a checkpoint directory nor a hub id "
        "(owner/name)"
    )


def _gguf_sha256(path: Path) -> str:
    """The file's sha256; an assembled embedded model is already named by its verified hash."""
    if _SHA256.match(path.stem) and path.parent == model_cache_dir():
        return path.stem
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _directory_revision(path: Path) -> str:
    """Names, sizes and times of a checkpoint's files: cheap, and changes when they change."""
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return "dir-" + digest.hexdigest()[:16]


def dense_checkpoint(gguf: Path, sha256: str, dtype: Any) -> Path:
    """The GGUF's weights dequantized into a safetensors checkpoint, written once, atomically.

    Dequantizing a GGUF takes about a minute; loading the dense copy takes seconds. One copy per
    dtype (a torch dtype): casting a float32 copy while loading took the 1.5B model 15 s, twice
    the time of reading a bf16 copy.
    """
    dtype_name = str(dtype).removeprefix("torch.")
    target = model_cache_dir() / f"{sha256}.transformers-v{_DENSE_FORMAT}-{dtype_name}"
    if (target / "config.json").is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as error:
        raise RuntimeFailure(
            f"cannot write the model cache in {target.parent}: {error}; free disk space or point "
            "MYTHOS_MODEL_CACHE at a writable folder"
        ) from error
    try:
        _write_dense_checkpoint(gguf, temp, dtype)
        try:
            temp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # else another process won the race
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def _write_dense_checkpoint(gguf: Path, folder: Path, dtype: Any) -> None:
    from transformers import AutoModelForCausalLM

    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=dtype
        )
    except (ImportError, ValueError, OSError) as error:
        raise UsageError(
            f"transformers cannot read {gguf}: {error}; install the GGUF support with "
            f"{INSTALL_HINT}, or use the llamacpp backend"
        ) from error
    # The GGUF loader dequantizes every tensor yet keeps its quantizer attached, and that
    # quantizer refuses to save; the weights are plain dense tensors, so drop it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(folder)


def _pad_id(model: Any, tokenizer: PromptTokenizer) -> int:
    """The model's pad token, else its first stop token (padded positions are masked anyway)."""
    pad = model.generation_config.pad_token_id
    return pad if isinstance(pad, int) else tokenizer.stop_token_ids[0]
