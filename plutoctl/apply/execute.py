"""Execute a site's plan and report, operation by operation (docs/apply.md).

``apply_site`` runs a ``SitePlan`` against one site in plan order. Steps that do not
depend on each other run at the same time (the client bounds the calls in flight):
creates and updates together; then segment member adds with enrolments; then group
member adds, which need both the groups and the enrolments. Removals and deletes
come last, one step at a time, and only while nothing on the site has failed: once
anything failed, they are skipped and listed, so that a half-applied run never takes
away more than it has put in place. Running apply again finishes the work.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence

from plutoctl.apply.report import (
    AGAIN,
    INTERRUPTED,
    ApplyReport,
    OperationResult,
    ProgressEvent,
)
from plutoctl.errors import PlanError, UnsafePlanError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.ids import IdMap
from plutoctl.lms.send import Budget, WriteResult
from plutoctl.lms.writer import SiteWriter
from plutoctl.model import ExistingSite
from plutoctl.plan.changes.kinds import APPLY_PHASES, KIND_OF_STEP, AddGroupMembers, Change, Step
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.changes.subjects import items_of, subject

log = logging.getLogger(__name__)


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
    if stop is not None:
        client.stop_retrying_on(stop)  # a failed call in flight is not repeated after it
    before, seconds_before = Counter(client.calls), dict(client.seconds)
    ledger = _Ledger()
    ids = IdMap.from_existing(existing, role_ids=role_ids)
    budget = Budget() if bisect_budget is None else Budget(bisect_budget)
    by_step: dict[Step, list[Change]] = defaultdict(list)
    for change in site_plan.changes:
        by_step[change.step].append(change)
    runner = _StepRunner(client, site_plan.site, ids, budget, ledger, progress, stop)
    for phase in APPLY_PHASES:  # the steps of a phase run concurrently
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
                self._ledger.skip(step, subject(change), items_of(change), INTERRUPTED)
            return
        if KIND_OF_STEP[step].is_removal and self._ledger.has_failures:
            reason = f"something failed earlier on this site; {AGAIN}"
            for change in changes:
                self._ledger.skip(step, subject(change), items_of(change), reason)
            return
        runnable = self._drop_dependants(step, changes)
        if not runnable:
            return
        total = sum(len(items_of(c)) for c in runnable)
        writer = SiteWriter(
            self._client,
            self._ids,
            budget=self._budget,
            on_items=self._counter(step, total),
            stop=self._stop,
        )
        self._emit(step, 0, total)
        result = writer.write(step, runnable)
        self._ledger.record(step, result)
        failed = min(total, len(result.failed) + len(result.unsent))
        self._emit(step, total - failed, total, failed=failed, ended=True)

    def _drop_dependants(self, step: Step, changes: Sequence[Change]) -> list[Change]:
        """Skip adds into segments or groups whose create failed, and group adds of
        users whose enrolment failed in this run (the site would refuse them)."""
        if step == Step.ADD_SEGMENT_MEMBERS:
            # Not those adopted (their fields could not be set): they exist.
            missing = self._ledger.failed_subjects(Step.CREATE_SEGMENT) - set(self._ids.segments)
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
                self._ledger.skip(step, subject(change), items_of(change), reason)
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
