"""``mythos eval units|retrieval|review CASES.jsonl``: measure the pipeline on labelled cases
(the scoring lives in ``eval/``)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from mythos_review.config import Settings
from mythos_review.eval.cases import default_corpus_dir, load_cases
from mythos_review.eval.retrieval import RETRIEVAL_BUDGET, run_retrieval_eval
from mythos_review.eval.review import run_review_eval
from mythos_review.eval.topics import load_topics, run_topics_eval
from mythos_review.eval.units import run_units_eval
from mythos_review.model.select import choose_model


def run(args: argparse.Namespace) -> int:
    only = set(getattr(args, "only", None) or ())
    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    if args.eval_kind == "topics":
        settings = Settings()
        if args.embedding_model:
            settings = replace(settings, embedding_model=args.embedding_model)
        topics = [t for t in load_topics(args.cases) if not only or t.topic_id in only]
        return run_topics_eval(topics, corpus, settings, args.json)
    cases = load_cases(args.cases)
    cases = [case for case in cases if not only or case.case_id in only]
    if args.eval_kind == "units":
        return run_units_eval(cases, corpus, args.json)
    if args.eval_kind == "review":
        settings = replace(
            Settings(),
            **{
                key: value
                for key, value in (
                    ("model", args.model),
                    ("backend", args.backend),
                    ("max_prompt_tokens", (args.max_prompt_tokens or [None])[-1]),
                )
                if value is not None
            },
        )
        return run_review_eval(
            cases, corpus, settings, choose_model(settings), reverse=args.reverse, as_json=args.json
        )
    budgets = list(dict.fromkeys(args.max_prompt_tokens or [RETRIEVAL_BUDGET]))
    return run_retrieval_eval(cases, corpus, args.json, Settings(), budgets)
