"""Bisection of all-or-nothing batches, checked against what a real Moodle 4.5 kept.

The recordings (tests/sandbox/data/moodle-differential.jsonl.gz) hold every answer and
the final state of 542 sequences. For each write function, every recorded call that
failed with several items must have left none of them on the site (unless another,
successful call made them). plutoctl's rollback table must agree, and the writer
must bisect exactly those functions.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.functions import PER_ITEM_WARNINGS, WHOLE_CALL_ROLLBACK, is_bisectable
from plutoctl.lms.ids import IdMap
from plutoctl.lms.writer import SiteWriter
from plutoctl.plan.changes.kinds import Enrol
from plutoctl.sandbox import Sandbox

DATA = Path(__file__).parents[1] / "sandbox" / "data" / "moodle-differential.jsonl.gz"


def sequences() -> list[dict[str, Any]]:
    with gzip.open(DATA, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def _name(value: Any) -> str:
    return value["name"] if isinstance(value, dict) else str(value)


def _items(step: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (container, member) pairs a call adds, in the final state's terms."""
    try:
        return _pairs(step)
    except (KeyError, TypeError):
        return []  # a call sent malformed on purpose: nothing it names can be added


def _pairs(step: dict[str, Any]) -> list[tuple[str, str]]:
    match step["fn"]:
        case "enrol_manual_enrol_users":
            entries = step["params"]["enrolments"]
            return [(_name(e["courseid"]), _name(e["userid"])) for e in entries]
        case "core_group_add_group_members":
            return [(_name(m["groupid"]), _name(m["userid"])) for m in step["params"]["members"]]
        case "core_cohort_add_cohort_members":
            members = step["params"]["members"]
            return [
                (_name(m["cohorttype"]["value"]), _name(m["usertype"]["value"])) for m in members
            ]
        case "core_cohort_create_cohorts":
            return [("cohorts", c["idnumber"]) for c in step["params"]["cohorts"]]
    return []


def _present(state: dict[str, Any], function: str, container: str, member: str) -> bool:
    match function:
        case "enrol_manual_enrol_users":
            return member in state["enrolments"].get(container, {})
        case "core_group_add_group_members":
            return any(
                member in users
                for key, users in state["group_members"].items()
                if key.endswith("/" + container)
            )
        case "core_cohort_add_cohort_members":
            return member in state["cohort_members"].get(container, [])
        case _:
            return any(c["idnumber"] == member for c in state["cohorts"].values())


def _is_error(step: dict[str, Any]) -> bool:
    body = step["real"]["body"]
    return body.startswith('{"exception"') or "<EXCEPTION" in body


def _labels_by_idnumber(sequence: dict[str, Any]) -> dict[str, str]:
    """Map the idnumbers of created cohorts to their labels (calls may name either)."""
    labels: dict[str, str] = {}
    for step in sequence["steps"]:
        if step.get("creates") == "cohort" and not _is_error(step):
            for label, cohort in zip(step["labels"], step["params"]["cohorts"], strict=False):
                labels[cohort.get("idnumber", "")] = label
    return labels


def recorded_failures() -> Iterator[tuple[str, str, bool]]:
    """Yield (sequence, function, kept nothing) for each recorded failed multi-item write."""
    for sequence in sequences():
        labels = _labels_by_idnumber(sequence)
        made: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for step in sequence["steps"]:
            if not _is_error(step) and step.get("token", "good") == "good":
                made[step["fn"]].update((labels.get(c, c), m) for c, m in _items(step))
        for step in sequence["steps"]:
            items = [(labels.get(c, c), m) for c, m in _items(step)]
            if not _is_error(step) or len(items) < 2 or "pairs" in step:
                continue
            state = sequence["real_final_state"]
            kept = [
                item
                for item in items
                if item not in made[step["fn"]] and _present(state, step["fn"], *item)
            ]
            yield sequence["sequence"], step["fn"], not kept


def test_every_recorded_failed_batch_kept_nothing_and_the_table_says_so() -> None:
    failures = list(recorded_failures())
    functions = {function for _, function, _ in failures}
    # The recordings hold failed batches of these writes; each must be all-or-nothing.
    assert functions == {
        "enrol_manual_enrol_users",
        "core_group_add_group_members",
        "core_cohort_add_cohort_members",
        "core_cohort_create_cohorts",
    }
    partial = [(seq, fn) for seq, fn, kept_nothing in failures if not kept_nothing]
    assert partial == []
    assert functions <= WHOLE_CALL_ROLLBACK
    assert PER_ITEM_WARNINGS <= WHOLE_CALL_ROLLBACK  # warnings aside, an exception keeps nothing


def test_the_check_would_see_a_batch_that_kept_an_item() -> None:
    state = {"enrolments": {"LAB101": {"labuser01": ["student"]}}}
    assert _present(state, "enrol_manual_enrol_users", "LAB101", "labuser01")
    assert not _present(state, "enrol_manual_enrol_users", "LAB101", "labuser02")


def test_only_whole_call_rollback_functions_are_bisected() -> None:
    assert is_bisectable("enrol_manual_enrol_users")
    assert not is_bisectable("core_user_update_users")  # per-user warnings, never bisected


@pytest.fixture
def lab() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        for n in range(1, 5):
            sb.store.add_user(f"u{n}")
        sb.store.add_course("LAB101")
        yield sb


def test_a_batch_failing_with_a_php_type_error_is_bisected_to_the_missing_user(
    lab: Sandbox,
) -> None:
    users = {f"u{n}": lab.store.user_id(f"u{n}") for n in range(1, 5)}
    users["ghost"] = 999999  # deleted since the plan: Moodle 4.5 answers a TypeError
    with lab.store.transaction() as db:
        course_id = db.execute("SELECT id FROM course WHERE shortname = 'LAB101'").fetchone()[0]
    ids = IdMap(users=users, segments={}, courses={"LAB101": course_id}, groups={})
    retry = RetryPolicy(attempts=1, backoff=0)
    with SiteClient(site="lab", url=lab.url, token=lab.token, retry=retry) as client:
        writer = SiteWriter(client, ids)
        change = Enrol("LAB101", "student", ("u1", "u2", "ghost", "u3", "u4"), "seg")
        result = writer.enrol([change])
    assert sorted(item.label for item in result.done) == ["u1", "u2", "u3", "u4"]
    assert [(e.item.label, e.errorcode) for e in result.failed] == [("ghost", "TypeError")]
    assert set(lab.store.enrolments("LAB101")) == {"u1", "u2", "u3", "u4"}
    # The first call failed whole (the site kept nothing), the halves were sent again.
    assert lab.log.count("enrol_manual_enrol_users") > 1
