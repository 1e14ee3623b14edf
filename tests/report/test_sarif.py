"""The SARIF log for GitHub code scanning, rendered from findings grounded in a real repository
and checked against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
import sarif_om

from mythos_review import __version__
from mythos_review.filter.suppress import apply_suppressions
from mythos_review.report import sarif
from mythos_review.report.options import ReportOptions
from mythos_review.review.rules import RULES, rule_for
from mythos_review.types import PassOutcome
from tests.pricing_project import CHANGED_PRICING, RAW_FINDINGS, TEST_PRICING, reviewed_result

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from mythos_review.types import Finding, ReviewResult
    from tests.conftest import GitRepo


def _log(
    result: ReviewResult, validator: Validator, options: ReportOptions | None = None, **caps: int
) -> dict[str, Any]:
    """Render, check the text is an indented JSON document, and validate it."""
    text = sarif.render_capped(result, options or ReportOptions(), **caps)
    assert text.startswith("{\n  ") and text.endswith("}\n")
    document: dict[str, Any] = json.loads(text)
    errors = list(validator.iter_errors(document))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return document


def _run(document: dict[str, Any]) -> dict[str, Any]:
    """The log's one run."""
    assert len(document["runs"]) == 1
    run: dict[str, Any] = document["runs"][0]
    return run


def _notices(run: dict[str, Any]) -> list[dict[str, Any]]:
    notices: list[dict[str, Any]] = run["invocations"][0].get("toolExecutionNotifications", [])
    return notices


def _staged_added_lines(repo: GitRepo) -> dict[str, set[int]]:
    """Added lines read straight from ``git diff``: with no context lines, a hunk's new side
    is exactly the lines it added."""
    added: dict[str, set[int]] = {}
    path: str | None = None
    for line in repo.git("diff", "--cached", "--unified=0").splitlines():
        if line.startswith("+++ "):
            path = line[len("+++ b/") :] if line.startswith("+++ b/") else None
        elif line.startswith("@@") and path is not None:
            start, _, count = line.split()[2][1:].partition(",")
            first = int(start)
            added.setdefault(path, set()).update(range(first, first + int(count or "1")))
    return added


def _region_lines(location: dict[str, Any]) -> range:
    region = location["physicalLocation"]["region"]
    return range(region["startLine"], region["endLine"] + 1)


def test_a_review_is_one_run_of_mythos_review_with_every_rule_in_a_stable_order(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    document = _log(reviewed, schema_validator)
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    driver = _run(document)["tool"]["driver"]
    assert driver["name"] == "mythos-review"
    assert driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == [rule.id for rule in RULES.values()]
    dry = _log(replace(reviewed, findings=(), model=None), schema_validator)
    assert [rule["id"] for rule in _run(dry)["tool"]["driver"]["rules"]] == rule_ids


def test_every_rule_carries_what_code_scanning_reads_and_only_security_has_a_score(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    rules = _run(_log(reviewed, schema_validator))["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        properties = rule["properties"]
        assert properties["precision"] == "medium"
        assert "mythos-review" in properties["tags"]
        assert properties["problem.severity"] in ("error", "warning", "recommendation")
        if "security" in properties["tags"]:
            assert 0.0 < float(properties["security-severity"]) <= 10.0
        else:
            assert "security-severity" not in properties
    assert any("security-severity" in rule["properties"] for rule in rules)


def test_every_result_names_its_rule_by_id_and_index(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    run = _run(_log(reviewed, schema_validator))
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(reviewed.findings) == 2
    by_fingerprint = {finding.fingerprint: finding for finding in reviewed.findings}
    for result in run["results"]:
        finding = by_fingerprint[result["partialFingerprints"]["mythosFingerprint/v1"]]
        assert result["ruleId"] == rule_for(finding.category).id
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert "security-severity" not in result.get("properties", {})
        assert result["properties"] == {
            "verified": True,
            "verification": "confirmed in a test",
            "category": finding.category,
            "symbol": "discount",
            "severity": finding.severity,
        }


def test_the_one_location_of_a_result_covers_only_lines_the_diff_added(
    pricing_repo: GitRepo, reviewed: ReviewResult, schema_validator: Validator
) -> None:
    added = _staged_added_lines(pricing_repo)
    post_image = CHANGED_PRICING.splitlines(keepends=True)
    # A finding may quote unchanged lines around the change too (the whole of `discount`).
    wide = replace(reviewed.findings[1], start_line=4, end_line=10)
    assert not set(range(4, 11)) <= added["shop/pricing.py"]
    findings = (reviewed.findings[0], wide)
    for result in _run(_log(replace(reviewed, findings=findings), schema_validator))["results"]:
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "shop/pricing.py", "uriBaseId": "%SRCROOT%"}
        lines = _region_lines(location)
        assert set(lines) <= added["shop/pricing.py"]
        snippet = location["physicalLocation"]["region"]["snippet"]["text"]
        assert snippet == "".join(post_image[lines.start - 1 : lines.stop - 1])


def test_related_locations_are_the_caller_and_the_test_and_the_message_links_them(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    pricing = CHANGED_PRICING.splitlines()
    total_line = pricing.index("def total(items):") + 1
    test_line = TEST_PRICING.splitlines().index("def test_bulk_discount():") + 1
    for result in _run(_log(reviewed, schema_validator))["results"]:
        related = {
            location["message"]["text"].split(":")[0]: location
            for location in result["relatedLocations"]
        }
        assert set(related) == {"caller `total`", "test `test_bulk_discount`"}
        caller, test = related["caller `total`"], related["test `test_bulk_discount`"]
        assert caller["physicalLocation"]["artifactLocation"]["uri"] == "shop/pricing.py"
        assert _region_lines(caller).start == total_line
        assert test["physicalLocation"]["artifactLocation"]["uri"] == "tests/test_pricing.py"
        assert _region_lines(test).start == test_line
        for location in result["relatedLocations"]:
            symbol = location["message"]["text"].split("`")[1]
            assert f"[{symbol}]({location['id']})" in result["message"]["text"]


@pytest.mark.parametrize(
    ("severity", "level"),
    [("high", "error"), ("medium", "warning"), ("low", "note"), ("info", "note")],
)
def test_the_level_follows_the_severity(
    reviewed: ReviewResult, schema_validator: Validator, severity: str, level: str
) -> None:
    finding = replace(reviewed.findings[0], severity=severity)
    (result,) = _run(_log(replace(reviewed, findings=(finding,)), schema_validator))["results"]
    assert result["level"] == level
    assert result["properties"]["severity"] == severity


def test_the_message_opens_with_the_title_and_ends_by_marking_unverified_findings(
    pricing_repo: GitRepo, schema_validator: Validator
) -> None:
    unverified = reviewed_result(pricing_repo, verified=False)
    titled = replace(unverified.findings[1], title="Negative prices [< 0] now raise!")
    results = _run(
        _log(replace(unverified, findings=(unverified.findings[0], titled)), schema_validator)
    )["results"]
    texts = [result["message"]["text"] for result in results]
    assert texts[0].startswith("Orders of exactly LIMIT items lose their discount. The comp")
    assert texts[1].startswith("Negative prices \\[< 0\\] now raise! Callers such as")
    assert all(text.endswith(" (unverified)") for text in texts)
    assert all(result["properties"]["verified"] is False for result in results)


def test_fingerprints_survive_lines_inserted_above_while_the_region_moves(
    pricing_repo: GitRepo, schema_validator: Validator
) -> None:
    before = _run(_log(reviewed_result(pricing_repo), schema_validator))["results"]
    header = "# Prices are in euros.\n# Discounts apply per order line.\n\n"
    pricing_repo.write("shop/pricing.py", header + CHANGED_PRICING)
    pricing_repo.stage()
    shift = header.count("\n")
    moved_answers = tuple(
        {**raw, "start_line": raw["start_line"] + shift, "end_line": raw["end_line"] + shift}
        for raw in RAW_FINDINGS
    )
    after = _run(_log(reviewed_result(pricing_repo, moved_answers), schema_validator))["results"]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    for old, new in zip(before, after, strict=True):
        old_lines, new_lines = (
            _region_lines(old["locations"][0]),
            _region_lines(new["locations"][0]),
        )
        assert (new_lines.start, new_lines.stop) == (
            old_lines.start + shift,
            old_lines.stop + shift,
        )


def test_suppressed_findings_are_results_that_carry_their_suppression(
    pricing_repo: GitRepo, schema_validator: Validator
) -> None:
    ignored = CHANGED_PRICING.replace(
        "if quantity > LIMIT:", "if quantity > LIMIT:  # mythos: ignore[bug]"
    )
    pricing_repo.write("shop/pricing.py", ignored)
    pricing_repo.stage()
    result = apply_suppressions(reviewed_result(pricing_repo), {})
    assert len(result.suppressed) == 1 and len(result.findings) == 1
    results = _run(_log(result, schema_validator))["results"]
    assert [r["ruleId"] for r in results] == ["mythos/error-handling", "mythos/bug"]
    assert "suppressions" not in results[0]
    (suppression,) = results[1]["suppressions"]
    assert suppression == {
        "kind": "inSource",
        "justification": result.suppressed[0].justification,
    }


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_dry_run_or_a_review_without_findings_is_a_valid_log_with_no_results(
    reviewed: ReviewResult, schema_validator: Validator, dry_run: bool
) -> None:
    empty = replace(reviewed, findings=(), model=None if dry_run else reviewed.model)
    run = _run(_log(empty, schema_validator))
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    notes = [n["message"]["text"] for n in _notices(run) if n["level"] == "note"]
    assert bool(notes) is dry_run and all("dry run" in note for note in notes)


def test_an_analyzers_findings_have_a_rule_of_their_own_naming_the_analyzer(
    analyzed: ReviewResult, schema_validator: Validator
) -> None:
    run = _run(_log(analyzed, schema_validator))
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [
        *(rule.id for rule in RULES.values()),
        "ruff/B006",
        "ruff/F821",
    ]
    undefined = rules[-1]
    assert undefined["name"] == "RuffUndefinedName"
    assert undefined["helpUri"] == "https://docs.astral.sh/ruff/rules/undefined-name/"
    assert undefined["defaultConfiguration"]["level"] == "error"
    assert undefined["properties"]["analyzer"] == "ruff"
    assert undefined["properties"]["precision"] == "high"
    assert rules[-2]["defaultConfiguration"]["level"] == "note"  # B006 is low
    results = {result["ruleId"]: result for result in run["results"]}
    assert set(results) == {"ruff/B006", "ruff/F821"}
    for rule_id, result in results.items():
        assert rules[result["ruleIndex"]]["id"] == rule_id
        assert result["properties"]["verified"] is True
    assert "(unverified)" not in results["ruff/F821"]["message"]["text"]
    notes = [n["message"]["text"] for n in _notices(run) if n["level"] == "note"]
    assert notes == ["dry run: no model reviewed the change; the results are the analyzers' alone"]


def test_failed_and_truncated_passes_and_notes_become_notifications(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    outcomes = (
        PassOutcome(1, 900, 512, 3.0, cached=False, rounds=1, status="truncated", raw_answer=""),
        PassOutcome(2, 800, 40, 1.0, cached=False, rounds=1, status="failed", raw_answer="?"),
        PassOutcome(3, 800, 40, 1.0, cached=False, rounds=1, status="partial", raw_answer=""),
    )
    notes = ("skipped vendor/lib.min.js: generated file",)
    run = _run(_log(replace(reviewed, outcomes=outcomes, notes=notes), schema_validator))
    assert run["invocations"][0]["executionSuccessful"] is False
    notices = _notices(run)
    assert {n["level"] for n in notices} == {"warning"}
    texts = [n["message"]["text"] for n in notices]
    assert texts[0] == notes[0]
    assert texts[1].startswith("pass 1 (shop/pricing.py:discount): the answer was cut off")
    assert texts[2].startswith("pass 2: the model's answer could not be read")
    assert texts[3].startswith("pass 3: the answer was cut off at the token limit; its complete")
    partial = replace(outcomes[2], pass_number=1)
    assert _run(_log(replace(reviewed, outcomes=(partial,)), schema_validator))["invocations"][0][
        "executionSuccessful"
    ], "a partial answer still delivered its findings"
    ok = replace(outcomes[0], status="ok")
    assert _run(_log(replace(reviewed, outcomes=(ok,)), schema_validator))["invocations"] == [
        {"executionSuccessful": True}
    ]


def test_the_automation_id_keeps_categories_apart_and_names_the_commit(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    assert _run(_log(reviewed, schema_validator))["automationDetails"] == {"id": "mythos-review/"}
    head = "0123456789abcdef0123456789abcdef01234567"
    committed = replace(reviewed, changeset=replace(reviewed.changeset, head=head))
    for category in ("mythos-review", "mythos-review/gpu", "cpu-runner/"):
        options = ReportOptions(sarif_category=category)
        automation_id = _run(_log(committed, schema_validator, options))["automationDetails"]["id"]
        # GitHub's category is everything before the last slash.
        assert automation_id.rsplit("/", 1) == [category.rstrip("/"), head]


def test_version_control_provenance_needs_a_commit_and_a_repository_address(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    head = "0123456789abcdef0123456789abcdef01234567"
    committed = replace(reviewed, changeset=replace(reviewed.changeset, head=head))
    linked = ReportOptions(link_base=f"https://github.com/acme/shop/blob/{head}/")
    assert _run(_log(committed, schema_validator, linked))["versionControlProvenance"] == [
        {"repositoryUri": "https://github.com/acme/shop", "revisionId": head}
    ]
    assert "versionControlProvenance" not in _run(_log(committed, schema_validator))
    assert "versionControlProvenance" not in _run(_log(reviewed, schema_validator, linked))


def test_paths_become_percent_encoded_relative_uris(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    moved = replace(reviewed.findings[0], path="shop/prix été/#1 100%.py")
    (result,) = _run(_log(replace(reviewed, findings=(moved,)), schema_validator))["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "shop/prix%20%C3%A9t%C3%A9/%231%20100%25.py"
    assert "snippet" not in location["region"]  # not a file of the diff: no post-image


def _many_findings(template: Finding, specs: list[tuple[str, bool]]) -> tuple[Finding, ...]:
    """Distinct findings with text that does not compress away, as a model's would not."""
    return tuple(
        replace(
            template,
            severity=severity,
            verified=verified,
            title=f"Finding {number}",
            message=" ".join(
                hashlib.sha256(f"{number}/{i}".encode()).hexdigest() for i in range(8)
            ),
            fingerprint=f"{number:032x}",
        )
        for number, (severity, verified) in enumerate(specs)
    )


def test_the_result_cap_keeps_verified_then_severe_findings_and_says_how_many_went(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    specs = [
        ("low", True),
        ("medium", False),
        ("medium", True),
        ("high", False),
        ("info", True),
        ("high", True),
        ("low", False),
    ]
    many = replace(reviewed, findings=_many_findings(reviewed.findings[0], specs))
    run = _run(_log(many, schema_validator, max_results=3))
    titles = [result["message"]["text"].split(".")[0] for result in run["results"]]
    assert titles == ["Finding 5", "Finding 2", "Finding 0"]
    (notice,) = _notices(run)
    assert notice["level"] == "warning"
    assert notice["message"]["text"].startswith("4 result(s) left out")
    assert "at most 3" in notice["message"]["text"]
    assert len(_run(_log(many, schema_validator))["results"]) == len(specs)


def test_the_size_cap_drops_the_lowest_ranked_results_until_the_gzipped_log_fits(
    reviewed: ReviewResult, schema_validator: Validator
) -> None:
    count = 40
    many = replace(
        reviewed, findings=_many_findings(reviewed.findings[0], [("medium", True)] * count)
    )

    def gzipped(document: dict[str, Any]) -> int:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        return len(gzip.compress(text.encode("utf-8"), compresslevel=sarif.GZIP_LEVEL))

    full = _log(many, schema_validator)
    empty = _log(many, schema_validator, max_results=0)
    limit = (gzipped(full) + gzipped(empty)) // 2
    capped = _log(many, schema_validator, max_gzip_bytes=limit)
    assert gzipped(capped) <= limit
    kept = [r["partialFingerprints"] for r in _run(capped)["results"]]
    assert 0 < len(kept) < count
    assert kept == [r["partialFingerprints"] for r in _run(full)["results"]][: len(kept)]
    (notice,) = _notices(_run(capped))
    assert notice["message"]["text"].startswith(f"{count - len(kept)} more result(s) left out")
    assert str(limit) in notice["message"]["text"]


def _walk(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Every (path, value) in a JSON document, containers included."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}/{index}")


def test_no_sarif_om_default_or_null_leaks_into_the_log(
    pricing_repo: GitRepo, schema_validator: Validator
) -> None:
    pricing_repo.write(
        "shop/pricing.py",
        CHANGED_PRICING.replace("    if price < 0:", "    # mythos: ignore\n    if price < 0:"),
    )
    pricing_repo.stage()
    result = apply_suppressions(reviewed_result(pricing_repo, verified=False), {})
    failed = PassOutcome(1, 900, 40, 1.0, cached=False, rounds=1, status="failed", raw_answer="")
    busy = replace(result, notes=("a note",), outcomes=(failed,))
    document = _log(busy, schema_validator)
    results = _run(document)["results"]
    assert [len(r.get("suppressions", [])) for r in results] == [0, 1]
    assert len(_notices(_run(document))) == 2
    leaked_keys = {"rank", "newlineSequences", "language", "contents", "byteOffset", "charOffset"}
    level_owners = re.compile(
        r"^/runs/0/(results/\d+|invocations/0/toolExecutionNotifications/\d+"
        r"|tool/driver/rules/\d+/defaultConfiguration)/level$"
    )
    for path, value in _walk(document):
        key = path.rsplit("/", 1)[-1]
        assert value is not None, path
        assert value != -1, path
        assert key not in leaked_keys, path
        assert key != "kind" or "/suppressions/" in path, path
        assert key != "level" or level_owners.match(path), path
        assert key != "enabled", path


def test_the_serializer_writes_schema_names_and_drops_defaults_but_always_the_level() -> None:
    run = sarif_om.Run(tool=sarif_om.Tool(driver=sarif_om.ToolComponent(name="t")), results=[])
    assert sarif.to_json(run) == {"tool": {"driver": {"name": "t"}}, "results": []}
    result = sarif_om.Result(
        message=sarif_om.Message(text="x"),
        level="warning",
        rule_index=0,
        partial_fingerprints={"a/v1": "f", "unset": None},
    )
    # No kind "fail", rank -1 or None fields; the level stays although it is sarif-om's
    # default, because an absent result level would mean the rule's default level instead.
    assert sarif.to_json(result) == {
        "message": {"text": "x"},
        "level": "warning",
        "partialFingerprints": {"a/v1": "f"},
        "ruleIndex": 0,
    }


def test_render_is_the_capped_renderer_with_github_limits(reviewed: ReviewResult) -> None:
    options = ReportOptions(sarif_category="ci")
    assert sarif.render(reviewed, options) == sarif.render_capped(
        reviewed, options, max_results=25_000, max_gzip_bytes=10_000_000
    )
