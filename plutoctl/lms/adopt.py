"""Creates and deletes that are never retried blindly: re-read, adopt, and try the rest once.

A create whose answer was lost may have happened; one refused with
``invalidparameter`` may be refused because someone else created the same segment ID
since the plan. So when a create or a delete fails (a transport error, or any
rejection), the failed objects are read again: what now exists is adopted (creates:
its id is learnt, and a segment's fields are aligned) or what is gone counts as done
(deletes), and only the rest is sent once more, bisected so that one bad item cannot
block the others. The re-reads are the reader's (``pages.search_cohorts`` pages the
cohort search exactly as the reader does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from plutoctl.errors import LmsError
from plutoctl.lms.answers import COHORTS, GROUPS, Cohort
from plutoctl.lms.functions import COURSE_GROUPS, GET_COHORTS
from plutoctl.lms.ids import IdMap
from plutoctl.lms.pages import search_cohorts
from plutoctl.lms.send import Item, ItemError, Sender, WriteResult
from plutoctl.model import SegmentFields
from plutoctl.plan.changes.kinds import UpdateSegment

SEARCH_PAGE = 100
SEARCH_PAGES = 100
"""The most pages of the cohort search one re-read of a segment ID asks for."""

_ADOPTED = " (made by someone else, or by a create whose answer was lost); adopted it"

Align = Callable[[Sequence[UpdateSegment]], WriteResult]
"""Updates adopted segments to the fields the plan wants (the writer's update)."""
Reread = Callable[[Sequence[ItemError]], tuple[WriteResult, list[Item]]]
Record = Callable[[Sequence[Any]], None]


class Adopter:
    """Runs the create and delete rounds of one site's writer."""

    def __init__(self, sender: Sender, ids: IdMap) -> None:
        self._sender = sender
        self._client = sender.client
        self.ids = ids

    # -- segments ------------------------------------------------------------------

    def create_segments(
        self, name: str, items: Sequence[Item], wanted: Mapping[str, SegmentFields], align: Align
    ) -> WriteResult:
        """Create segments; adopt any whose ID exists by now (aligning its fields)."""
        return self._create_rounds(
            name,
            items,
            record=self._record_segments,
            made=lambda item: item.subject in self.ids.segments,
            reread=lambda failed: self._adopt_segments(failed, wanted, align),
        )

    def delete_segments(self, name: str, items: Sequence[Item]) -> WriteResult:
        """Delete segments (the payload is the id); a segment already gone counts as deleted."""
        return self._delete_rounds(name, items, still_there=self._segments_there)

    def _record_segments(self, returned: Sequence[Any]) -> None:
        for record in _records(returned):
            cohort_id, idnumber = _id(record.get("id")), record.get("idnumber")
            if cohort_id is not None and isinstance(idnumber, str):
                self.ids.segments[idnumber] = cohort_id

    def _adopt_segments(
        self, failed: Sequence[ItemError], wanted: Mapping[str, SegmentFields], align: Align
    ) -> tuple[WriteResult, list[Item]]:
        """Re-read failed segment IDs; adopt those that exist (and align their fields)."""
        found = self._find_segments([e.item.subject for e in failed])
        adopted: list[Item] = []
        updates: list[UpdateSegment] = []
        pending: list[Item] = []
        for error in failed:
            cohort = found.get(error.item.subject)
            if cohort is None:
                pending.append(error.item)
                continue
            self.ids.segments[error.item.subject] = cohort.id
            adopted.append(error.item)
            fields = wanted[error.item.subject]
            if _segment_fields(cohort) != fields:
                updates.append(UpdateSegment(error.item.subject, cohort.id, fields, ()))
        notes = tuple(
            f"segment {i.subject!r} already exists on the site{_ADOPTED}" for i in adopted
        )
        if not updates:
            return WriteResult(done=tuple(adopted), notes=notes), pending
        # The update that aligns the adopted segments' fields adds its calls; a segment
        # it could not set is this step's failure (so that no removal follows on the
        # site), though it exists and its members can be added.
        aligned = align(updates)
        unset = {e.item.subject: e for e in aligned.failed}
        failed = tuple(
            ItemError(
                item,
                unset[item.subject].errorcode,
                f"adopted it, but its fields could not be set: {unset[item.subject].message}",
            )
            for item in adopted
            if item.subject in unset
        )
        done = tuple(item for item in adopted if item.subject not in unset)
        result = WriteResult(
            done=done,
            failed=failed,
            calls_by_subject=aligned.calls_by_subject,
            notes=notes + aligned.notes,
        )
        return result, pending

    def _find_segments(self, idnumbers: Sequence[str]) -> dict[str, Cohort]:
        """Look segment IDs up with the cohort search (exact match kept)."""
        found = self._client.map_concurrent(self._search_segment, list(dict.fromkeys(idnumbers)))
        return {str(cohort.idnumber): cohort for cohort in found if cohort is not None}

    def _search_segment(self, idnumber: str) -> Cohort | None:
        matches = search_cohorts(
            self._client,
            idnumber,
            "all",
            size=SEARCH_PAGE,
            limit=SEARCH_PAGES,
            until=lambda cohort: cohort.idnumber == idnumber,
        )
        return matches[0] if matches else None

    def _segments_there(self, items: Sequence[Item]) -> set[int]:
        ids = [int(i.payload) for i in items]
        # Validated: an answer of another shape is an error, never "none are there".
        cohorts = self._client.read(GET_COHORTS, {"cohortids": ids}, adapter=COHORTS)
        return {cohort.id for cohort in cohorts}

    # -- groups --------------------------------------------------------------------

    def create_groups(self, name: str, items: Sequence[Item]) -> WriteResult:
        """Create groups; adopt any whose idnumber now exists in the course."""
        return self._create_rounds(
            name,
            items,
            record=self._record_groups,
            made=self._group_made,
            reread=self._adopt_groups,
        )

    def _group_made(self, item: Item) -> bool:
        course = self.ids.course_names().get(int(item.payload["courseid"]))
        return (course, str(item.payload["idnumber"])) in self.ids.groups

    def delete_groups(
        self, name: str, items: Sequence[Item], courses: Mapping[int, str]
    ) -> WriteResult:
        """Delete groups (``courses``: each group id's course); one already gone is deleted."""
        return self._delete_rounds(
            name, items, still_there=lambda failed: self._groups_there(failed, courses)
        )

    def _record_groups(self, returned: Sequence[Any]) -> None:
        course_by_id = self.ids.course_names()
        for record in _records(returned):
            group_id, idnumber = _id(record.get("id")), record.get("idnumber")
            course_id = _id(record.get("courseid"))
            course = course_by_id.get(course_id) if course_id is not None else None
            if course is not None and group_id is not None and isinstance(idnumber, str):
                self.ids.groups[(course, idnumber)] = group_id

    def _adopt_groups(self, failed: Sequence[ItemError]) -> tuple[WriteResult, list[Item]]:
        """Re-read the courses of failed group creates; adopt groups that now exist."""
        course_ids = sorted({int(e.item.payload["courseid"]) for e in failed})
        listings = self._client.map_concurrent(self._course_groups, course_ids)
        found = {
            (int(g["courseid"]), str(g.get("idnumber") or "")): int(g["id"])
            for groups in listings
            for g in groups
        }
        course_by_id = self.ids.course_names()
        adopted: list[Item] = []
        pending: list[Item] = []
        for error in failed:
            payload = error.item.payload
            key = (int(payload["courseid"]), str(payload["idnumber"]))
            if key in found:
                self.ids.groups[(course_by_id[key[0]], key[1])] = found[key]
                adopted.append(error.item)
            else:
                pending.append(error.item)
        notes = tuple(f"group {i.subject!r} already exists on the site{_ADOPTED}" for i in adopted)
        return WriteResult(done=tuple(adopted), notes=notes), pending

    def _course_groups(self, course_id: int) -> list[Mapping[str, Any]]:
        # Validated: an answer of another shape is an error, never "the course has none".
        groups = self._client.read(COURSE_GROUPS, {"courseid": course_id}, adapter=GROUPS)
        return [{"courseid": course_id, "idnumber": g.idnumber or "", "id": g.id} for g in groups]

    def _groups_there(self, items: Sequence[Item], courses: Mapping[int, str]) -> set[int]:
        names = {courses[int(i.payload)] for i in items}
        course_ids = sorted(self.ids.courses[n] for n in names if n in self.ids.courses)
        listings = self._client.map_concurrent(self._course_groups, course_ids)
        return {int(g["id"]) for groups in listings for g in groups}

    # -- the rounds ----------------------------------------------------------------

    def _create_rounds(
        self,
        name: str,
        items: Sequence[Item],
        *,
        record: Record,
        made: Callable[[Item], bool],
        reread: Reread,
    ) -> WriteResult:
        """Create; on failure re-read, adopt what exists, and create the rest once more.

        The first round sends whole chunks; the second, after the re-read showed
        which objects are still missing, bisects so that one bad item cannot block
        the others. A create the site accepted but whose id its answer does not give
        (``made`` says which are known) is re-read as a failed one is: it may exist.
        """
        total = WriteResult()
        pending = list(items)
        for round_no in range(2):
            sent = self._sender.send(name, pending, is_bisected=round_no > 0)
            record(sent.returned)
            done = tuple(item for item in sent.result.done if made(item))
            failed = sent.result.failed + tuple(
                ItemError(item, "badresponse", f"the site's answer to {name} gave no id for it")
                for item in sent.result.done
                if not made(item)
            )
            total += WriteResult(
                done=done, calls_by_subject=sent.result.calls_by_subject, unsent=sent.result.unsent
            )
            if not failed:
                return total
            try:
                adopted, pending = reread(failed)
            except LmsError as exc:
                return total + WriteResult(failed=_outcome_unknown(failed, exc))
            total += adopted
            if not pending:
                return total
            if round_no == 1:
                still = {id(i) for i in pending}
                total += WriteResult(failed=tuple(e for e in failed if id(e.item) in still))
        return total

    def _delete_rounds(
        self,
        name: str,
        items: Sequence[Item],
        *,
        still_there: Callable[[Sequence[Item]], set[int]],
    ) -> WriteResult:
        """Delete by id; on failure re-read, count what is gone, and bisect the rest."""
        total = WriteResult()
        pending = list(items)
        for round_no in range(2):
            sent = self._sender.send(name, pending, is_bisected=round_no > 0).result
            total += WriteResult(
                done=sent.done, calls_by_subject=sent.calls_by_subject, unsent=sent.unsent
            )
            if not sent.failed:
                return total
            failed_items = [e.item for e in sent.failed]
            try:
                there = still_there(failed_items)
            except LmsError as exc:
                return total + WriteResult(failed=_outcome_unknown(sent.failed, exc))
            total += WriteResult(done=tuple(i for i in failed_items if i.payload not in there))
            pending = [i for i in failed_items if i.payload in there]
            if not pending:
                return total
            if round_no == 1:
                total += WriteResult(
                    failed=tuple(e for e in sent.failed if e.item.payload in there)
                )
        return total


def _outcome_unknown(failed: Sequence[ItemError], exc: LmsError) -> tuple[ItemError, ...]:
    """The failed items, saying that the re-read which would tell whether they happened
    failed too: reported failed (the next apply reads the site and finishes the work),
    never dropped with the rest of the site's report."""
    return tuple(
        ItemError(
            e.item,
            e.errorcode,
            f"{e.message}; whether it happened is unknown, as reading it again failed: {exc}",
        )
        for e in failed
    )


def _records(returned: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Flatten the lists of records that create/get calls returned.

    A record is taken as it comes: the callers keep only those whose fields are of
    their shape (``_id``), and an item no kept record names counts as not made, to be
    read again (``_create_rounds``).
    """
    records: list[Mapping[str, Any]] = []
    for value in returned:
        if isinstance(value, list):
            records.extend(r for r in value if isinstance(r, dict))
    return records


def _id(value: object) -> int | None:
    """An id as the site answers it: an integer (a boolean is none), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _segment_fields(cohort: Cohort) -> SegmentFields:
    return SegmentFields(cohort.name, cohort.description or "", cohort.visible)
