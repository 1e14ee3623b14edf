"""The model's own tokenizer and chat template, read from its GGUF file.

The token budget must count exactly what the model will see, yet a dry run must not pay for
importing torch or transformers. A GGUF file carries everything needed as metadata (vocabulary,
merges or scores, token types, special token ids, chat template), so the tokenizer is rebuilt
with the ``tokenizers`` library and the template rendered with a jinja2 sandbox. The built
tokenizer is cached next to the GGUF file, so later loads take milliseconds.
"""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from mythos_review.errors import UsageError
from mythos_review.files import write_text_atomically

GGUFValue = str | int | float | bool | list[Any]

_CACHE_FORMAT = 1
"""Bump when the way a tokenizer is built from GGUF metadata changes, to invalidate caches."""

# GGUF metadata value types (gguf spec, versions 2 and 3).
_STRING, _ARRAY = 8, 9
_SCALAR_FORMATS = {
    0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d",
}  # fmt: skip

# llama.cpp token types.
_NORMAL, _CONTROL, _USER_DEFINED = 1, 3, 4

QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
"""How Qwen2 cuts text into words before byte-level BPE (its merges were learned on these)."""

_PRE_TOKENIZER_SPLITS = {"qwen2": QWEN2_SPLIT}
"""``tokenizer.ggml.pre`` of byte-level vocabularies -> split regex; others are refused."""

_SPACE_MARK = "\u2581"
"""SentencePiece writes a space as '▁' inside tokens."""

_TEMPLATE_PROBE = "MYTHOS_PROBE_7f3a"
"""Assistant text used to discover which token closes a turn in a chat template."""


def read_gguf_metadata(path: Path) -> dict[str, GGUFValue]:
    """Every metadata key of a GGUF file (v2/v3), without touching its tensors.

    ``gguf.GGUFReader`` builds a numpy view per array element and needs 8-12 s for these
    vocabularies; this walks the header with ``struct`` over a memory map in about 0.2 s.
    """
    try:
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:4] != b"GGUF":
                raise UsageError(f"{path} is not a GGUF file")
            version, _tensor_count, kv_count = struct.unpack_from("<IQQ", data, 4)
            if version not in (2, 3):
                raise UsageError(f"{path} is GGUF version {version}; only versions 2 and 3 load")
            return _GGUFMetadataParser(data, 24).read(kv_count)
    except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read GGUF metadata from {path}: {error}") from error


class _GGUFMetadataParser:
    """A cursor over the key-value section of a GGUF file."""

    def __init__(self, data: mmap.mmap, offset: int) -> None:
        self._data = data
        self._offset = offset

    def read(self, kv_count: int) -> dict[str, GGUFValue]:
        metadata: dict[str, GGUFValue] = {}
        for _ in range(kv_count):
            key = self._string()
            metadata[key] = self._value(self._unpack("<I"))
        return metadata

    def _unpack(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self._data, self._offset)
        self._offset += struct.calcsize(fmt)
        return value

    def _string(self) -> str:
        length = self._unpack("<Q")
        start = self._offset
        self._offset += length
        return self._data[start : self._offset].decode("utf-8", errors="replace")

    def _value(self, value_type: int) -> GGUFValue:
        if value_type == _STRING:
            return self._string()
        if value_type == _ARRAY:
            item_type = self._unpack("<I")
            count = self._unpack("<Q")
            if item_type in _SCALAR_FORMATS:
                fmt = f"<{count}{_SCALAR_FORMATS[item_type]}"
                values = list(struct.unpack_from(fmt, self._data, self._offset))
                self._offset += struct.calcsize(fmt)
                return values
            return [self._value(item_type) for _ in range(count)]
        if value_type in _SCALAR_FORMATS:
            value: GGUFValue = self._unpack("<" + _SCALAR_FORMATS[value_type])
            return value
        raise ValueError(f"unknown GGUF value type {value_type}")


class _Metadata:
    """Typed access to the keys a tokenizer needs, with errors that name the file."""

    def __init__(self, path: Path, values: Mapping[str, GGUFValue]) -> None:
        self.path = path
        self._values = values

    def get(self, key: str) -> GGUFValue | None:
        return self._values.get(key)

    def text(self, key: str) -> str:
        return str(self._typed(key, str))

    def number(self, key: str) -> int:
        return int(self._typed(key, int))

    def texts(self, key: str) -> list[str]:
        return [str(item) for item in self._typed(key, list)]

    def numbers(self, key: str) -> list[float]:
        return [float(item) for item in self._typed(key, list)]

    def _typed(self, key: str, kind: type[Any]) -> Any:
        value = self._values.get(key)
        if not isinstance(value, kind):
            raise UsageError(f"{self.path} has no usable {key!r} in its metadata")
        return value


def _added_tokens(tokens: Sequence[str], token_types: Sequence[float]) -> list[AddedToken]:
    """Control tokens become special tokens, user-defined ones plain added tokens.

    Both are matched whole in the raw text, as llama.cpp does, instead of being cut into pieces.
    """
    return [
        AddedToken(token, special=token_type == _CONTROL, normalized=False)
        for token, token_type in zip(tokens, token_types, strict=True)
        if token_type in (_CONTROL, _USER_DEFINED)
    ]


def _merge_pair(merge: str) -> tuple[str, str]:
    left, _space, right = merge.partition(" ")
    return left, right


def _byte_level_bpe(meta: _Metadata) -> Tokenizer:
    """GPT-2 style byte-level BPE (Qwen2): tokens and merges as the file spells them."""
    pre = meta.get("tokenizer.ggml.pre")
    split = _PRE_TOKENIZER_SPLITS.get(str(pre))
    if split is None:
        raise UsageError(
            f"{meta.path}: byte-level vocabulary with pre-tokenizer {pre!r} is not supported "
            f"(supported: {', '.join(sorted(_PRE_TOKENIZER_SPLITS))}); use the openai backend"
        )
    tokens = meta.texts("tokenizer.ggml.tokens")
    merges = [_merge_pair(merge) for merge in meta.texts("tokenizer.ggml.merges")]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_tokens(_added_tokens(tokens, meta.numbers("tokenizer.ggml.token_type")))
    return tokenizer


def _sentencepiece_bpe(meta: _Metadata) -> Tokenizer:
    """SentencePiece BPE (Gemma) as a ``tokenizers`` BPE with byte fallback.

    The file has scores but no merges. SentencePiece BPE repeatedly joins the adjacent pair whose
    union is the best-scoring normal piece, so every split of a normal piece into two known pieces
    is a merge, ranked by that piece's score.
    """
    tokens = meta.texts("tokenizer.ggml.tokens")
    scores = meta.numbers("tokenizer.ggml.scores")
    token_types = meta.numbers("tokenizer.ggml.token_type")
    vocab = {token: index for index, token in enumerate(tokens)}
    ranked: list[tuple[float, int, str, str]] = []
    for token, score, token_type in zip(tokens, scores, token_types, strict=True):
        if token_type != _NORMAL:
            continue
        ranked.extend(
            (-score, vocab[token], token[:cut], token[cut:])
            for cut in range(1, len(token))
            if token[:cut] in vocab and token[cut:] in vocab
        )
    ranked.sort()
    merges = [(left, right) for _score, _id, left, right in ranked]
    unknown = tokens[meta.number("tokenizer.ggml.unknown_token_id")]
    tokenizer = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token=unknown, fuse_unk=True, byte_fallback=True)
    )
    add_prefix = meta.get("tokenizer.ggml.add_space_prefix")
    prefix = [normalizers.Prepend(_SPACE_MARK)] if add_prefix else []
    tokenizer.normalizer = normalizers.Sequence([*prefix, normalizers.Replace(" ", _SPACE_MARK)])
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace(_SPACE_MARK, " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    tokenizer.add_tokens(_added_tokens(tokens, token_types))
    return tokenizer


_BUILDERS: dict[str, Callable[[_Metadata], Tokenizer]] = {
    "gpt2": _byte_level_bpe,
    "llama": _sentencepiece_bpe,
}
"""``tokenizer.ggml.model`` -> builder."""


def _shipped_template(architecture: str) -> str | None:
    """Our own chat template for a family whose GGUF files may lack one (Gemma base models)."""
    if not architecture.startswith("gemma"):
        return None
    template = resources.files("mythos_review.model") / "chat_templates" / "gemma.jinja"
    return template.read_text(encoding="utf-8")


def _tojson(value: Any, indent: int | None = None) -> str:
    """Like Hugging Face's ``tojson``: plain JSON, no HTML escaping (jinja's default escapes)."""
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _compile_template(source: str) -> jinja2.Template:
    """Compile a chat template in the sandbox and with the options Hugging Face templates expect."""
    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = _raise_exception
    return environment.from_string(source)


@dataclass(frozen=True)
class _ChatInfo:
    """Everything besides the ``tokenizers`` object that the cache must restore."""

    name: str
    chat_template: str
    bos_token: str | None
    eos_token: str
    end_of_turn_tokens: tuple[str, ...]


class ChatTokenizer:
    """Counts, encodes and renders chats exactly as the model sees them."""

    def __init__(self, tokenizer: Tokenizer, info: _ChatInfo) -> None:
        self._tokenizer = tokenizer
        self._info = info
        self._template = _compile_template(info.chat_template)

    @classmethod
    def from_gguf(cls, path: str | Path) -> ChatTokenizer:
        """The tokenizer of a GGUF file, from the cache next to it when that is still valid."""
        path = Path(path)
        cached = _load_cached(path)
        if cached is not None:
            return cached
        tokenizer, info = _build(path)
        _save_cache(path, tokenizer, info)
        return cls(tokenizer, info)

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def eos_token(self) -> str:
        return self._info.eos_token

    @property
    def bos_token(self) -> str | None:
        return self._info.bos_token

    @property
    def end_of_turn_tokens(self) -> tuple[str, ...]:
        """Tokens that end the model's answer: the chat's end-of-turn token and EOS."""
        return self._info.end_of_turn_tokens

    @property
    def chat_template(self) -> str:
        return self._info.chat_template

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` alone: no BOS (the chat template places it)."""
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once (encoded in parallel threads)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def render_chat(
        self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        """The exact prompt text: the chat template applied, ready for the model to answer."""
        try:
            return self._template.render(
                messages=[dict(message) for message in messages],
                add_generation_prompt=add_generation_prompt,
                bos_token=self._info.bos_token or "",
                eos_token=self._info.eos_token,
            )
        except jinja2.TemplateError as error:
            raise UsageError(
                f"the chat template of {self.name} rejects these messages: {error}"
            ) from error

    def count_chat(self, messages: Sequence[Mapping[str, str]]) -> int:
        """Prompt tokens of a chat, generation prompt included."""
        return self.count(self.render_chat(messages))


def _build(path: Path) -> tuple[Tokenizer, _ChatInfo]:
    meta = _Metadata(path, read_gguf_metadata(path))
    kind = str(meta.get("tokenizer.ggml.model"))
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise UsageError(
            f"{path}: tokenizer type {kind!r} is not supported (supported: "
            f"{', '.join(sorted(_BUILDERS))}); use the openai backend for this model"
        )
    tokenizer = builder(meta)
    architecture = str(meta.get("general.architecture"))
    template = meta.get("tokenizer.chat_template")
    if not isinstance(template, str):
        template = _shipped_template(architecture)
    if template is None:
        raise UsageError(
            f"{path} has no chat template and mythos-review ships none for {architecture!r}"
        )
    tokens = meta.texts("tokenizer.ggml.tokens")
    bos_id = meta.get("tokenizer.ggml.bos_token_id")
    bos = tokens[bos_id] if isinstance(bos_id, int) else None
    eos = tokens[meta.number("tokenizer.ggml.eos_token_id")]
    name = meta.get("general.name")
    info = _ChatInfo(
        name=name if isinstance(name, str) else path.stem,
        chat_template=template,
        bos_token=bos,
        eos_token=eos,
        end_of_turn_tokens=(eos,),
    )
    turn_end = _turn_end_token(ChatTokenizer(tokenizer, info), tokenizer)
    if turn_end is not None and turn_end != eos:
        info = _ChatInfo(info.name, template, bos, eos, (turn_end, eos))
    return tokenizer, info


def _turn_end_token(chat: ChatTokenizer, tokenizer: Tokenizer) -> str | None:
    """The added token the template writes right after an assistant's text (``<|im_end|>``)."""
    try:
        rendered = chat.render_chat(
            [{"role": "user", "content": "?"}, {"role": "assistant", "content": _TEMPLATE_PROBE}],
            add_generation_prompt=False,
        )
    except UsageError:
        return None
    _before, probe, after = rendered.partition(_TEMPLATE_PROBE)
    tokens = tokenizer.encode(after, add_special_tokens=False).tokens
    added = {token.content for token in tokenizer.get_added_tokens_decoder().values()}
    if probe and tokens and tokens[0] in added:
        return str(tokens[0])
    return None


def _cache_files(path: Path) -> tuple[Path, Path]:
    """``<model>.tokenizer.json`` (``tokenizers``' own format) and ``<model>.chat.json``."""
    return path.with_name(f"{path.stem}.tokenizer.json"), path.with_name(f"{path.stem}.chat.json")


def _source_stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"format": _CACHE_FORMAT, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load_cached(path: Path) -> ChatTokenizer | None:
    tokenizer_file, chat_file = _cache_files(path)
    try:
        record = json.loads(chat_file.read_text(encoding="utf-8"))
        if record.get("source") != _source_stamp(path):
            return None
        info = _ChatInfo(
            name=record["name"],
            chat_template=record["chat_template"],
            bos_token=record["bos_token"],
            eos_token=record["eos_token"],
            end_of_turn_tokens=tuple(record["end_of_turn_tokens"]),
        )
        return ChatTokenizer(Tokenizer.from_file(str(tokenizer_file)), info)
    except Exception:  # a damaged cache of any kind (tokenizers raises bare Exception) = rebuild
        return None


def _save_cache(path: Path, tokenizer: Tokenizer, info: _ChatInfo) -> None:
    """Write the tokenizer first and the chat record last: the record is what marks it valid."""
    tokenizer_file, chat_file = _cache_files(path)
    record = {
        "source": _source_stamp(path),
        "name": info.name,
        "chat_template": info.chat_template,
        "bos_token": info.bos_token,
        "eos_token": info.eos_token,
        "end_of_turn_tokens": list(info.end_of_turn_tokens),
    }
    try:
        write_text_atomically(tokenizer_file, tokenizer.to_str())
        write_text_atomically(chat_file, json.dumps(record, ensure_ascii=False))
    except OSError:
        pass  # a read-only folder only costs a rebuild next time
