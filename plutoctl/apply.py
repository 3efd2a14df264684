"""Execute a site's plan and report, operation by operation (SPEC §4.5).

``apply_site`` runs a ``SitePlan`` against one site in plan order. Steps that do not
depend on each other run at the same time (the client bounds the calls in flight):
creates and updates together; then segment member adds with enrolments; then group
member adds, which need both the groups and the enrolments. Removals and deletes
come last, one step at a time, and only while nothing on the site has failed: once
anything failed, they are skipped and listed, so that a half-applied run never takes
away more than it has put in place. Running apply again finishes the work.

``verify_site`` re-reads what apply touched and says what still differs.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from plutoctl.errors import LmsError, PlanError, UnsafePlanError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.lms.writer import (
    Budget,
    IdMap,
    SiteWriter,
    WriteResult,
    group_subject,
)
from plutoctl.model import ExistingSite
from plutoctl.plan.changes import (
    APPLY_PHASES,
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    SitePlan,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
    course_of,
    subject,
    usernames_of,
)

log = logging.getLogger(__name__)

PHASES = APPLY_PHASES
"""Steps in each phase run concurrently; phases run in order."""

REMOVAL_STEPS = frozenset(kind.step for kind in KINDS if kind.is_removal)

STEP_NAMES: Mapping[Step, str] = {kind.step: kind.label for kind in KINDS}

_FOLD = 20
"""Usernames shown per failed or skipped operation in the text summary."""


INTERRUPTED = "apply was interrupted before sending these; run apply again"

# --- report values ------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressEvent:
    """How far one step of one site has got."""

    site: str
    step: Step
    done: int
    total: int
    failed: int = 0
    """Items of the step that failed or were not sent: set when the step has ended."""
    ended: bool = False

    @property
    def is_complete(self) -> bool:
        """Return whether the step ended with every item done."""
        return self.ended and not self.failed

    def __str__(self) -> str:
        text = f"{self.site}: {STEP_NAMES[self.step]} {self.done:,}/{self.total:,}"
        if self.ended and self.failed:
            return f"{text} ({self.failed:,} failed or not sent: step not complete)"
        return text


@dataclass(frozen=True)
class OperationResult:
    """One step's outcome for one subject (segment ID, course, or ``COURSE/GROUP``).

    For a failure, ``errorcode`` and ``message`` come from the site (or name
    plutoctl's reason) and ``items`` holds the usernames (or the subject) it held.
    ``calls`` counts the calls that carried this subject's items; one call can carry
    several subjects, so the report's ``calls`` is the true total.
    """

    step: Step
    subject: str
    count: int
    calls: int = 0
    items: tuple[str, ...] = ()
    errorcode: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": STEP_NAMES[self.step],
            "subject": self.subject,
            "count": self.count,
            "calls": self.calls,
        }
        if self.items:
            data["items"] = list(self.items)
        if self.errorcode:
            data["errorcode"] = self.errorcode
        if self.message:
            data["message"] = self.message
        return data

    def describe(self) -> str:
        """Return one line for people: what, which subject, why, and who."""
        shown = ", ".join(self.items[:_FOLD])
        if len(self.items) > _FOLD:
            shown += f", … ({len(self.items) - _FOLD:,} more)"
        why = f"{self.errorcode}: {self.message}" if self.errorcode else self.message
        text = f"{STEP_NAMES[self.step]} {self.subject} ({self.count:,})"
        if why:
            text += f": {why}"
        if shown and self.items != (self.subject,):
            text += f" [{shown}]"
        return text


@dataclass(frozen=True)
class ApplyReport:
    """What applying one site's plan did, failed to do, and skipped."""

    site: str
    done: tuple[OperationResult, ...] = ()
    failed: tuple[OperationResult, ...] = ()
    skipped: tuple[OperationResult, ...] = ()
    calls: int = 0
    calls_by_function: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds_by_function: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_success(self) -> bool:
        return not self.failed and not self.skipped

    def summary_line(self) -> str:
        """Return e.g. ``applied 1,204 of 1,241 items; 2 operation(s) failed, 3 skipped; …``."""
        done = sum(r.count for r in self.done)
        total = done + sum(r.count for r in self.failed) + sum(r.count for r in self.skipped)
        text = f"applied {done:,} of {total:,} items"
        if self.failed or self.skipped:
            text += f"; {len(self.failed)} operation(s) failed, {len(self.skipped)} skipped"
        return text + f"; {self.calls:,} API call(s)"

    def detail_lines(self) -> list[str]:
        """Return what was done per step, then one line per failed and skipped operation
        and per note."""
        per_step: Counter[Step] = Counter()
        for result in self.done:
            per_step[result.step] += result.count
        lines = []
        if per_step:
            parts = [f"{STEP_NAMES[s]} {n:,}" for s, n in sorted(per_step.items())]
            lines.append("done: " + "; ".join(parts))
        if self.calls_by_function:
            parts = [
                f"{f} {n:,} ({self.seconds_by_function.get(f, 0.0):.1f} s)"
                for f, n in sorted(self.calls_by_function.items())
            ]
            lines.append("calls: " + "; ".join(parts))
        lines += [f"failed: {r.describe()}" for r in self.failed]
        lines += [f"skipped: {r.describe()}" for r in self.skipped]
        lines += [f"note: {n}" for n in self.notes]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (it never holds a token)."""
        return {
            "site": self.site,
            "success": self.is_success,
            "calls": self.calls,
            "calls_by_function": dict(sorted(self.calls_by_function.items())),
            "seconds_by_function": {
                f: round(n, 3) for f, n in sorted(self.seconds_by_function.items())
            },
            "done": [r.to_dict() for r in self.done],
            "failed": [r.to_dict() for r in self.failed],
            "skipped": [r.to_dict() for r in self.skipped],
            "notes": list(self.notes),
        }


# --- running a plan -----------------------------------------------------------------


class _Ledger:
    """Collects operation results from concurrently running steps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done: list[OperationResult] = []
        self.failed: list[OperationResult] = []
        self.skipped: list[OperationResult] = []
        self.notes: list[str] = []
        self.failed_items: dict[Step, set[tuple[str, str]]] = defaultdict(set)

    @property
    def has_failures(self) -> bool:
        with self._lock:
            return bool(self.failed)

    def record(self, step: Step, result: WriteResult) -> None:
        done = Counter(item.subject for item in result.done)
        failed: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for error in result.failed:
            failed[(error.item.subject, error.errorcode, error.message)].append(error.item.label)
        calls = result.calls_by_subject
        with self._lock:
            self.done += [
                OperationResult(step, s, n, calls=calls.get(s, 0)) for s, n in sorted(done.items())
            ]
            self.failed += [
                OperationResult(step, s, len(labels), calls.get(s, 0), tuple(labels), code, msg)
                for (s, code, msg), labels in sorted(failed.items())
            ]
            self.failed_items[step].update((e.item.subject, e.item.label) for e in result.failed)
            self.notes += result.notes
        unsent: dict[str, list[str]] = defaultdict(list)
        for item in result.unsent:
            unsent[item.subject].append(item.label)
        for subject_, labels in sorted(unsent.items()):
            self.skip(step, subject_, labels, INTERRUPTED)

    def skip(self, step: Step, subject_: str, items: Sequence[str], reason: str) -> None:
        with self._lock:
            self.skipped.append(
                OperationResult(step, subject_, len(items), items=tuple(items), message=reason)
            )

    def failed_subjects(self, step: Step) -> set[str]:
        with self._lock:
            return {s for s, _ in self.failed_items[step]}


def apply_site(
    client: SiteClient,
    site_plan: SitePlan,
    existing: ExistingSite,
    *,
    progress: Callable[[ProgressEvent], None] | None = None,
    role_ids: Mapping[str, int] | None = None,
    bisect_budget: int | None = None,
    stop: threading.Event | None = None,
) -> ApplyReport:
    """Apply one site's plan and report what was done, failed and skipped.

    ``existing`` supplies the ids of users, segments, courses and groups (read just
    before applying). A site plan with errors or refused changes is not applied.
    Failures are reported, not raised; only a plan that must not run raises. Once
    ``stop`` is set (Ctrl-C), no further call is sent: the calls in flight finish
    and everything not yet sent is reported as skipped.
    """
    _check_runnable(site_plan)
    before, seconds_before = Counter(client.calls), dict(client.seconds)
    ledger = _Ledger()
    ids = IdMap.from_existing(existing, role_ids=role_ids)
    budget = Budget() if bisect_budget is None else Budget(bisect_budget)
    by_step: dict[Step, list[Change]] = defaultdict(list)
    for change in site_plan.changes:
        by_step[change.step].append(change)
    runner = _StepRunner(client, site_plan.site, ids, budget, ledger, progress, stop)
    for phase in PHASES:
        steps = [s for s in phase if by_step.get(s)]
        if len(steps) == 1:
            runner.run(steps[0], by_step[steps[0]])
        elif steps:
            client.map_concurrent(lambda s: runner.run(s, by_step[s]), steps)
    used = Counter(client.calls)
    used.subtract(before)
    calls_by_function = {f: n for f, n in used.items() if n > 0}
    seconds_by_function = {
        f: client.seconds.get(f, 0.0) - seconds_before.get(f, 0.0) for f in calls_by_function
    }
    return ApplyReport(
        site=site_plan.site,
        done=tuple(ledger.done),
        failed=tuple(ledger.failed),
        skipped=tuple(ledger.skipped),
        calls=sum(calls_by_function.values()),
        calls_by_function=calls_by_function,
        notes=tuple(ledger.notes),
        seconds_by_function=seconds_by_function,
    )


def _check_runnable(site_plan: SitePlan) -> None:
    if site_plan.errors:
        raise PlanError(
            f"site {site_plan.site!r}: the plan has errors; nothing was applied",
            hint="fix the errors the plan lists, then plan again",
        )
    if site_plan.refused:
        raise UnsafePlanError(
            f"site {site_plan.site!r}: the plan holds refused changes; nothing was applied",
            hint="acknowledge them as the plan says (--allow-removals/--allow-delete)",
        )


class _StepRunner:
    """Runs one step's changes through a writer and records the outcome."""

    def __init__(
        self,
        client: SiteClient,
        site: str,
        ids: IdMap,
        budget: Budget,
        ledger: _Ledger,
        progress: Callable[[ProgressEvent], None] | None,
        stop: threading.Event | None = None,
    ) -> None:
        self._client = client
        self._site = site
        self._ids = ids
        self._budget = budget
        self._ledger = ledger
        self._progress = progress
        self._stop = stop if stop is not None else threading.Event()

    def run(self, step: Step, changes: Sequence[Change]) -> None:
        if self._stop.is_set():
            for change in changes:
                self._ledger.skip(step, subject(change), _items_of(change), INTERRUPTED)
            return
        if step in REMOVAL_STEPS and self._ledger.has_failures:
            reason = "something failed earlier on this site; run apply again"
            for change in changes:
                self._ledger.skip(step, subject(change), _items_of(change), reason)
            return
        runnable = self._drop_dependants(step, changes)
        if not runnable:
            return
        total = sum(len(_items_of(c)) for c in runnable)
        writer = SiteWriter(
            self._client,
            self._ids,
            budget=self._budget,
            on_items=self._counter(step, total),
            stop=self._stop,
        )
        self._emit(step, 0, total)
        result = _dispatch(writer, step, runnable)
        self._ledger.record(step, result)
        failed = min(total, len(result.failed) + len(result.unsent))
        self._emit(step, total - failed, total, failed=failed, ended=True)

    def _drop_dependants(self, step: Step, changes: Sequence[Change]) -> list[Change]:
        """Skip adds into segments or groups whose create failed, and group adds of
        users whose enrolment failed in this run (the site would refuse them)."""
        if step == Step.ADD_SEGMENT_MEMBERS:
            missing = self._ledger.failed_subjects(Step.CREATE_SEGMENT)
            return self._skip_in(step, changes, missing, "its segment could not be created")
        if step != Step.ADD_GROUP_MEMBERS:
            return list(changes)
        missing = self._ledger.failed_subjects(Step.CREATE_GROUP)
        kept = self._skip_in(step, changes, missing, "its group could not be created")
        not_enrolled = {(course, name) for course, name in self._ledger.failed_items[Step.ENROL]}
        return [self._without_unenrolled(c, not_enrolled) for c in kept]

    def _skip_in(
        self, step: Step, changes: Sequence[Change], missing: set[str], reason: str
    ) -> list[Change]:
        kept: list[Change] = []
        for change in changes:
            if subject(change) in missing:
                self._ledger.skip(step, subject(change), _items_of(change), reason)
            else:
                kept.append(change)
        return kept

    def _without_unenrolled(self, change: Change, not_enrolled: set[tuple[str, str]]) -> Change:
        assert isinstance(change, AddGroupMembers)
        dropped = [u for u in change.usernames if (change.course, u) in not_enrolled]
        if not dropped:
            return change
        reason = f"enrolment in {change.course} failed"
        self._ledger.skip(Step.ADD_GROUP_MEMBERS, subject(change), dropped, reason)
        kept = tuple(u for u in change.usernames if (change.course, u) not in not_enrolled)
        return AddGroupMembers(change.course, change.idnumber, kept)

    def _counter(self, step: Step, total: int) -> Callable[[int], None]:
        lock = threading.Lock()
        sent = [0]

        def on_items(n: int) -> None:
            with lock:
                sent[0] += n
                done = sent[0]
            if done < total:
                self._emit(step, done, total)

        return on_items

    def _emit(
        self, step: Step, done: int, total: int, *, failed: int = 0, ended: bool = False
    ) -> None:
        if self._progress is not None:
            self._progress(ProgressEvent(self._site, step, done, total, failed, ended))


def _dispatch(writer: SiteWriter, step: Step, changes: Sequence[Any]) -> WriteResult:
    """Send one step's changes through the writer method for that step."""
    methods: dict[Step, Callable[[Sequence[Any]], WriteResult]] = {
        Step.CREATE_SEGMENT: writer.create_segments,
        Step.UPDATE_SEGMENT: writer.update_segments,
        Step.CREATE_GROUP: writer.create_groups,
        Step.UPDATE_GROUP: writer.update_groups,
        Step.ADD_SEGMENT_MEMBERS: writer.add_segment_members,
        Step.ENROL: writer.enrol,
        Step.ADD_GROUP_MEMBERS: writer.add_group_members,
        Step.REMOVE_GROUP_MEMBERS: writer.remove_group_members,
        Step.UNENROL: writer.unenrol,
        Step.REMOVE_SEGMENT_MEMBERS: writer.remove_segment_members,
        Step.DELETE_GROUP: writer.delete_groups,
        Step.DELETE_SEGMENT: writer.delete_segments,
    }
    return methods[step](changes)


def _items_of(change: Change) -> tuple[str, ...]:
    """Return what a change's items are called: its usernames, or its subject."""
    return usernames_of(change) or (subject(change),)


# --- verification -------------------------------------------------------------------


def verify_site(
    client: SiteClient,
    site_plan: SitePlan,
    report: ApplyReport,
    *,
    known: Mapping[int, str] | None = None,
) -> tuple[str, ...]:
    """Re-read what apply touched and return a line for everything that still differs.

    Only what the report says was done is checked: failures and skips are already
    listed. A read that fails yields one line saying verification was not possible.
    ``known`` (user id → username, learned before apply) spares looking users up again.
    """
    not_done = _not_done(report)
    checks = [c for c in site_plan.changes if _items_of(c) and not _fully_not_done(c, not_done)]
    if not checks:
        return ()
    try:
        scope = replace(scope_of_changes(checks), known_users=dict(known or {}))
        existing = read_site(client, scope)
    except LmsError as exc:
        return (f"could not re-read the site to verify: {exc.message}",)
    notes: list[str] = []
    for change in checks:
        done = [i for i in _items_of(change) if (change.step, subject(change), i) not in not_done]
        notes += differences(change, done, existing)
    return tuple(notes)


def _not_done(report: ApplyReport) -> set[tuple[Step, str, str]]:
    return {
        (r.step, r.subject, item)
        for r in (*report.failed, *report.skipped)
        for item in (r.items or (r.subject,))
    }


def _fully_not_done(change: Change, not_done: set[tuple[Step, str, str]]) -> bool:
    return all((change.step, subject(change), i) in not_done for i in _items_of(change))


def scope_of_changes(changes: Iterable[Change]) -> ReadScope:
    """Return the read scope that covers every object and user the changes touch."""
    segments: set[str] = set()
    courses: set[str] = set()
    usernames: set[str] = set()
    for change in changes:
        course = course_of(change)
        if course is None:
            segments.add(subject(change))
        else:
            courses.add(course)
        usernames.update(usernames_of(change))
    # Ids and names only: no profile is needed to check or apply these changes.
    return ReadScope(
        segments=frozenset(segments),
        usernames=frozenset(usernames),
        courses=frozenset(courses),
        needs_custom_fields=False,
    )


def differences(change: Change, done: Sequence[str], existing: ExistingSite) -> list[str]:
    """Return what about ``change`` (its ``done`` items) the re-read state contradicts."""
    if not done:
        return []
    match change:
        case (
            CreateSegment(idnumber=sid, fields=fields) | UpdateSegment(idnumber=sid, fields=fields)
        ):
            seg = existing.segments.get(sid)
            if seg is None:
                return [f"segment {sid} is missing"]
            if seg.fields != fields:
                return [f"segment {sid} has {_fields(seg.fields)}, wanted {_fields(fields)}"]
            return []
        case DeleteSegment(idnumber=sid):
            return [f"segment {sid} still exists"] if sid in existing.segments else []
        case AddSegmentMembers(idnumber=sid) | RemoveSegmentMembers(idnumber=sid):
            seg = existing.segments.get(sid)
            members = seg.members if seg is not None and seg.members is not None else frozenset()
            return _membership(f"segment {sid}", change, done, members)
        case _:
            return _course_differences(change, done, existing)


def _course_differences(change: Change, done: Sequence[str], existing: ExistingSite) -> list[str]:
    match change:
        case Enrol(course=c, role=role):
            course = existing.courses.get(c)
            roles = course.enrolments if course else {}
            enrolled = frozenset(u for u in done if role in roles.get(u, ()))
            return _membership(f"course {c} as {role}", change, done, enrolled)
        case Unenrol(course=c):
            course = existing.courses.get(c)
            enrolled = frozenset(course.enrolments) if course else frozenset()
            return _membership(f"course {c}", change, done, enrolled)
        case (
            CreateGroup(course=c, idnumber=g, name=name, description=description)
            | UpdateGroup(course=c, idnumber=g, name=name, description=description)
        ):
            group = existing.courses[c].groups.get(g) if c in existing.courses else None
            if group is None:
                return [f"group {group_subject(c, g)} is missing"]
            if (group.name, group.description) != (name, description):
                return [f"group {group_subject(c, g)} has name {group.name!r}, wanted {name!r}"]
            return []
        case DeleteGroup(course=c, idnumber=g):
            there = c in existing.courses and g in existing.courses[c].groups
            return [f"group {group_subject(c, g)} still exists"] if there else []
        case AddGroupMembers(course=c, idnumber=g) | RemoveGroupMembers(course=c, idnumber=g):
            group = existing.courses[c].groups.get(g) if c in existing.courses else None
            members = group.members if group is not None else frozenset()
            return _membership(f"group {group_subject(c, g)}", change, done, members)
    return []


def _membership(
    what: str, change: Change, done: Sequence[str], members: frozenset[str]
) -> list[str]:
    is_add = isinstance(change, AddSegmentMembers | AddGroupMembers | Enrol)
    wrong = [u for u in done if (u in members) != is_add]
    if not wrong:
        return []
    state = "not in" if is_add else "still in"
    shown = ", ".join(wrong[:_FOLD]) + (" …" if len(wrong) > _FOLD else "")
    return [f"{len(wrong):,} user(s) {state} {what}: {shown}"]


def _fields(fields: Any) -> str:
    return f"name={fields.name!r} description={fields.description!r} visible={fields.visible}"
