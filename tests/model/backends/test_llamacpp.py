"""The llama.cpp backend on the real embedded GGUF files (Qwen 0.5B for speed, Gemma 3 270M).

Answers come from the real model, so assertions are about properties every answer must have
(valid JSON under the schema, exact token counts, stop reasons, repeatability), never about
what the model says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from mythos_review.errors import RuntimeFailure, UsageError
from mythos_review.model.backends.base import Chat, DecodingSettings, Generation
from mythos_review.model.backends.llamacpp import LlamaCppBackend
from mythos_review.model.devices import detect_device
from mythos_review.model.llama_build import install_command
from mythos_review.model.registry import resolve_model
from mythos_review.prompt.render import PromptRenderer
from mythos_review.prompt.schema import FINDINGS_SCHEMA
from mythos_review.types import ChangeUnit, EvidenceItem

MAX_PROMPT_TOKENS = 1536
MAX_NEW_TOKENS = 192

BUGGY_WINDOW = (
    "def window(items, size):",
    '    """The last `size` items, oldest first."""',
    "    if size <= 0:",
    "        return []",
    "    return items[len(items) - size + 1 :]",
)


def _review_chat(code: tuple[str, ...] = BUGGY_WINDOW) -> Chat:
    """A real review prompt (our templates) for a function whose last line was changed."""
    first, last = 10, 10 + len(code) - 1
    unit = ChangeUnit(
        path="pkg/window.py",
        language="python",
        symbol="window",
        kind="function",
        start_line=first,
        end_line=last,
        changed_lines=(last,),
    )
    item = EvidenceItem(
        role="unit",
        path="pkg/window.py",
        symbol="window",
        start_line=first,
        end_line=last,
        score=1.0,
        reason="changed by the diff",
        lines=tuple(enumerate(code, start=first)),
        marked_lines=(last,),
    )
    renderer = PromptRenderer()
    user = renderer.render_user([unit], [item], {"pkg/window.py": "python"})
    return [
        {"role": "system", "content": renderer.system_prompt},
        {"role": "user", "content": user},
    ]


def _question_chat(question: str) -> Chat:
    return [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": question},
    ]


def _open(
    model: str, max_prompt_tokens: int = MAX_PROMPT_TOKENS, *, greedy_loop: bool = True
) -> LlamaCppBackend:
    pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed")
    return LlamaCppBackend.from_spec(
        resolve_model(model),
        max_prompt_tokens=max_prompt_tokens,
        max_new_tokens=MAX_NEW_TOKENS,
        greedy_loop=greedy_loop,
    )


@pytest.fixture(scope="module")
def qwen() -> Iterator[LlamaCppBackend]:
    backend = _open("qwen2.5-coder-0.5b")
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaCppBackend]:
    backend = _open("gemma-3-270m")
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def qwen_chain() -> Iterator[LlamaCppBackend]:
    """The same model answering through llama-cpp-python's sampler chain: the reference."""
    backend = _open("qwen2.5-coder-0.5b", greedy_loop=False)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def review_answer(qwen: LlamaCppBackend) -> Generation:
    """One schema-constrained answer to the review prompt, shared by the tests that read it."""
    decoding = DecodingSettings(max_new_tokens=MAX_NEW_TOKENS)
    [answer] = qwen.generate([_review_chat()], decoding, FINDINGS_SCHEMA)
    return answer


def test_backend_names_the_model_and_pins_its_weights(qwen: LlamaCppBackend) -> None:
    spec = resolve_model("qwen2.5-coder-0.5b")
    assert (qwen.name, qwen.model_name, qwen.revision) == ("llamacpp", spec.name, spec.sha256)
    assert qwen.context_tokens >= MAX_PROMPT_TOKENS + MAX_NEW_TOKENS


def test_count_chat_is_what_our_tokenizer_counts_and_what_llama_is_fed(
    qwen: LlamaCppBackend, review_answer: Generation
) -> None:
    chat = _review_chat()
    packer_count = qwen.chat_tokenizer.count_chat(chat)
    assert qwen.count_chat(chat) == packer_count == review_answer.prompt_tokens
    assert qwen.prompt_ids(chat) == qwen.chat_tokenizer.encode(
        qwen.chat_tokenizer.render_chat(chat)
    )
    assert qwen.count("def f(x):\n    return x") == qwen.chat_tokenizer.count(
        "def f(x):\n    return x"
    )


@pytest.mark.slow
def test_constrained_answer_is_valid_json_under_the_findings_schema(
    review_answer: Generation,
) -> None:
    assert review_answer.finish_reason == "stop"
    assert 0 < review_answer.completion_tokens <= MAX_NEW_TOKENS
    assert review_answer.seconds > 0
    jsonschema.validate(json.loads(review_answer.text), FINDINGS_SCHEMA)


@pytest.mark.slow
def test_greedy_answers_repeat_exactly_even_after_another_prompt_reused_the_cache(
    qwen: LlamaCppBackend,
) -> None:
    """The second answer to the same chat reuses the KV cache left by a different prompt that
    shares the system turn; greedy decoding must still give the same tokens."""
    decoding = DecodingSettings(max_new_tokens=24)
    fixed = (*BUGGY_WINDOW[:-1], "    return items[len(items) - size :]")
    first, _other, again = qwen.generate(
        [_review_chat(), _review_chat(fixed), _review_chat()], decoding
    )
    assert first.text == again.text
    assert first.completion_tokens == again.completion_tokens == 24


def _same_answers(
    ours: LlamaCppBackend,
    chain: LlamaCppBackend,
    chats: list[Chat],
    decoding: DecodingSettings,
    schema: dict[str, object] | None,
) -> None:
    mine = ours.generate(chats, decoding, schema)
    reference = chain.generate(chats, decoding, schema)
    assert [(a.text, a.completion_tokens, a.finish_reason) for a in mine] == [
        (a.text, a.completion_tokens, a.finish_reason) for a in reference
    ]
    assert [a.prompt_tokens for a in mine] == [a.prompt_tokens for a in reference]


@pytest.mark.slow
def test_greedy_loop_writes_the_sampler_chains_answers_under_the_json_grammar(
    qwen: LlamaCppBackend, qwen_chain: LlamaCppBackend
) -> None:
    """The grammar checked on the best token first must choose what the whole-vocabulary mask
    chooses: same text, same token count, same stop, also when the cap cuts the answer."""
    fixed = (*BUGGY_WINDOW[:-1], "    return items[len(items) - size :]")
    chats = [_review_chat(), _review_chat(fixed), _question_chat("Say hello in JSON.")]
    _same_answers(qwen, qwen_chain, chats, DecodingSettings(max_new_tokens=96), FINDINGS_SCHEMA)
    cut = DecodingSettings(max_new_tokens=7)
    _same_answers(qwen, qwen_chain, [_review_chat()], cut, FINDINGS_SCHEMA)


@pytest.mark.slow
def test_greedy_loop_writes_the_sampler_chains_answers_without_a_grammar(
    qwen: LlamaCppBackend, qwen_chain: LlamaCppBackend
) -> None:
    chats = [_question_chat("Reply with the single word: yes"), _review_chat()]
    _same_answers(qwen, qwen_chain, chats, DecodingSettings(max_new_tokens=40), None)


@pytest.mark.slow
def test_answer_stops_at_the_end_of_its_turn(qwen: LlamaCppBackend) -> None:
    decoding = DecodingSettings(max_new_tokens=MAX_NEW_TOKENS)
    [answer] = qwen.generate([_question_chat("Reply with the single word: yes")], decoding)
    assert answer.finish_reason == "stop"
    assert answer.completion_tokens < MAX_NEW_TOKENS
    assert "<|im_end|>" not in answer.text


@pytest.mark.slow
def test_answer_is_cut_at_max_new_tokens(qwen: LlamaCppBackend) -> None:
    decoding = DecodingSettings(max_new_tokens=5)
    [answer] = qwen.generate([_question_chat("Count from 1 to 100, one number a line.")], decoding)
    assert (answer.finish_reason, answer.completion_tokens) == ("length", 5)


def test_prompt_over_the_context_is_refused_with_what_to_do(qwen: LlamaCppBackend) -> None:
    huge = _question_chat("word " * (MAX_PROMPT_TOKENS + MAX_NEW_TOKENS))
    with pytest.raises(RuntimeFailure, match="--max-prompt-tokens"):
        qwen.generate([huge], DecodingSettings(max_new_tokens=MAX_NEW_TOKENS))


def test_context_longer_than_the_model_was_trained_for_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--max-prompt-tokens"):
        _open("gemma-3-270m", max_prompt_tokens=1_000_000)


def test_gemma_prompt_has_one_bos_and_the_system_text_in_the_user_turn(
    gemma: LlamaCppBackend,
) -> None:
    chat = _question_chat("Say hi.")
    ids = gemma.prompt_ids(chat)
    tokenizer = gemma.chat_tokenizer
    [bos] = tokenizer.encode(tokenizer.bos_token or "")
    assert ids[0] == bos and ids.count(bos) == 1
    assert ids == tokenizer.encode(tokenizer.render_chat(chat))
    assert tokenizer.decode(ids).startswith(
        "<bos><start_of_turn>user\nYou are a terse assistant.\n\nSay hi.<end_of_turn>\n"
    )


YES_NO_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}
"""Small enough that the grammar must close the object within a few tokens: a base model, which
may ramble inside a findings string, then has to stop at EOS or <end_of_turn>."""


@pytest.mark.slow
def test_gemma_constrained_answer_is_schema_valid_and_stops(gemma: LlamaCppBackend) -> None:
    chat = _question_chat("Does `items[len(items) - size + 1 :]` return `size` items? JSON:")
    [answer] = gemma.generate(
        [chat], DecodingSettings(max_new_tokens=MAX_NEW_TOKENS), YES_NO_SCHEMA
    )
    assert answer.prompt_tokens == gemma.count_chat(chat)
    assert answer.finish_reason == "stop"
    assert "<end_of_turn>" not in answer.text
    jsonschema.validate(json.loads(answer.text), YES_NO_SCHEMA)


@pytest.mark.slow
def test_gemma_greedy_loop_writes_the_sampler_chains_answers(gemma: LlamaCppBackend) -> None:
    """Gemma's sliding-window cache and its two end-of-turn tokens, through both decoders; the
    second chat shares the first one's prefix, so the cache is cut back in between."""
    chain = _open("gemma-3-270m", greedy_loop=False)
    try:
        question = "Does `items[len(items) - size + 1 :]` return `size` items? JSON:"
        chats = [_question_chat(question), _question_chat(question + " Think of size 1.")]
        decoding = DecodingSettings(max_new_tokens=48)
        _same_answers(gemma, chain, chats, decoding, YES_NO_SCHEMA)
        _same_answers(gemma, chain, chats, decoding, FINDINGS_SCHEMA)
    finally:
        chain.close()


def test_missing_llama_cpp_is_a_usage_error_with_the_install_command(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.modules['llama_cpp'] = None\n"
        "from mythos_review.errors import UsageError\n"
        "from mythos_review.model.backends.llamacpp import LlamaCppBackend\n"
        "from mythos_review.model.registry import resolve_model\n"
        "try:\n"
        "    LlamaCppBackend.from_spec(\n"
        "        resolve_model('gemma-3-270m'), max_prompt_tokens=512, max_new_tokens=64\n"
        "    )\n"
        "except UsageError as error:\n"
        "    print(error)\n"
        "    sys.exit(2)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 2, result.stderr
    assert install_command(detect_device().cpu_flags) in result.stdout
    assert "Traceback" not in result.stderr
