"""The topic set (bench/topics.jsonl) against the public corpus, when the corpus is there:
every expected definition exists, and the topic evaluation runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mythos_review.cli import main
from mythos_review.config import Settings
from mythos_review.eval.cases import default_corpus_dir, repo_checkout
from mythos_review.eval.topics import KS, METHODS, load_topics
from mythos_review.index.search import Index

TOPICS = Path(__file__).resolve().parents[2] / "bench" / "topics.jsonl"

pytestmark = pytest.mark.skipif(
    not (default_corpus_dir() / "repos").is_dir(),
    reason="evaluation corpus not fetched: run ../shared/eval/fetch-corpus",
)


def test_the_set_has_twenty_topics_or_more_and_each_expected_definition_exists() -> None:
    topics = load_topics(TOPICS)
    assert len(topics) >= 20 and len({t.topic_id for t in topics}) == len(topics)
    for repo in dict.fromkeys(t.repo for t in topics):
        checkout = repo_checkout(repo, default_corpus_dir(), "topics-check")
        with checkout as folder, Index.open(folder, Settings()) as index:
            index.update()
            for topic in (t for t in topics if t.repo == repo):
                for path, symbol in topic.expect:
                    found = [c for c in index.definitions(symbol) if c.path == path]
                    assert found, f"{topic.topic_id}: {path} {symbol} is not in {repo}"


@pytest.mark.slow
def test_topic_recall_is_reported_for_each_method(capsys: pytest.CaptureFixture[str]) -> None:
    only = ["itsdangerous-derive-key", "itsdangerous-base64"]
    assert main(["eval", "topics", str(TOPICS), "--json", "--only", *only]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [t["topic_id"] for t in document["topics"]] == only
    assert set(document["summary"]) == set(METHODS)
    assert all(set(document["summary"][m]) == {str(k) for k in KS} for m in METHODS)
    assert document["summary"]["hybrid"]["10"] == 1.0
