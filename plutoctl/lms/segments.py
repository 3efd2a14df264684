"""Read the segments: every cohort with a segment ID, and the members of those in scope.

Every cohort is listed (one call, or the search where the token may not view them
all), so that the plan can tell a segment to create from one that exists; members
are read only for the segments in scope, many per call and spread over the calls
in flight (an answer costs the site per member listed). A segment ID used by more
than one cohort leaves the read incomplete: only the first is read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

from plutoctl.errors import PermissionDeniedError
from plutoctl.lms.answers import COHORT_MEMBERS, COHORTS, Cohort, CohortMembers
from plutoctl.lms.client import SiteClient
from plutoctl.lms.found import Read, UserIndex, reason
from plutoctl.lms.functions import GET_COHORT_MEMBERS, GET_COHORTS, SEARCH_COHORTS, list_key
from plutoctl.lms.pages import search_cohorts
from plutoctl.lms.responses import validate_answer
from plutoctl.model import ExistingSegment, SegmentFields

log = logging.getLogger(__name__)


@dataclass
class SegmentsRead(Read):
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    unidentified: list[str] = field(default_factory=list)  # names of cohorts without an ID
    shared_ids: list[str] = field(default_factory=list)  # IDs more than one cohort holds
    member_ids: dict[str, list[int]] = field(default_factory=dict)
    system_ids: frozenset[int] | None = None  # cohorts in the system context, if known

    def assemble_segments(self, users: UserIndex) -> dict[str, ExistingSegment]:
        """Return the segments read, their members named; the member ids are let go."""
        segments = {}
        system = self.system_ids
        for idnumber, cohort in self.cohorts.items():
            members = None
            if idnumber in self.member_ids:
                # Popped: each segment's ids are freed as its names take their place.
                members = users.names(self.member_ids.pop(idnumber), f"segment {idnumber}")
            fields = SegmentFields(cohort.name, cohort.description or "", cohort.visible)
            in_category = None if system is None else cohort.id not in system
            segments[idnumber] = ExistingSegment(cohort.id, idnumber, fields, members, in_category)
        return segments


class SegmentReads:
    """The reads of one site's segments; they raise only when fatal."""

    def __init__(self, client: SiteClient, functions: frozenset[str]) -> None:
        self.client = client
        self.functions = functions
        self.site = client.site

    def read_segments(self, segments: frozenset[str]) -> SegmentsRead:
        """List the cohorts and read the members of ``segments`` (segment IDs)."""
        read = SegmentsRead()
        cohorts = self._list_cohorts()
        duplicates: dict[str, int] = {}
        for cohort in sorted(cohorts, key=lambda c: c.id):
            if not cohort.idnumber:
                read.unidentified.append(cohort.name)
                continue
            if cohort.idnumber in read.cohorts:
                duplicates[cohort.idnumber] = duplicates.get(cohort.idnumber, 1) + 1
                continue
            read.cohorts[cohort.idnumber] = cohort
        read.shared_ids = sorted(duplicates)
        for idnumber, count in sorted(duplicates.items()):
            read.incomplete.append(
                f"segment ID {idnumber!r} is used by {count} cohorts on the site; only the "
                "first was read"
            )
        self._read_cohort_members(read, segments)
        # No answer names a cohort's context: the search of the system context alone
        # tells system cohorts from category ones (docs/moodle.md, "Cohorts (segments)").
        if segments and SEARCH_COHORTS in self.functions:
            read.system_ids = frozenset(c.id for c in search_cohorts(self.client, "", "self"))
        return read

    def _list_cohorts(self) -> list[Cohort]:
        """List every cohort in one call, or page through the search where that fails.

        ``core_cohort_get_cohorts`` throws on the first cohort the token may not view;
        the search (``includes=all``) skips such contexts instead.
        """
        if GET_COHORTS in self.functions:
            try:
                raw = self.client.read(GET_COHORTS)
            except PermissionDeniedError:
                if SEARCH_COHORTS not in self.functions:
                    raise
                log.info("%s: listing cohorts refused; using %s", self.site, SEARCH_COHORTS)
            else:
                return list(validate_answer(COHORTS, raw, site=self.site, function=GET_COHORTS))
        return search_cohorts(self.client, "", "all")

    def _read_cohort_members(self, read: SegmentsRead, segments: frozenset[str]) -> None:
        wanted = {read.cohorts[s].id: s for s in sorted(segments) if s in read.cohorts}
        if not wanted:
            return
        # Spread over the calls in flight: an answer costs the site per member listed.
        chunks = self.client.call_chunked(
            GET_COHORT_MEMBERS,
            list_key(GET_COHORT_MEMBERS),
            list(wanted),
            retry_safe=True,
            adapter=COHORT_MEMBERS,
            spread=True,
        )
        for chunk in chunks:
            if chunk.error is not None:
                names = ", ".join(wanted[i] for i in chunk.items)
                read.incomplete.append(reason(f"members of segments {names}", chunk.error))
                continue
            for answer in cast(list[CohortMembers], chunk.result):
                if answer.cohortid in wanted:
                    read.member_ids[wanted[answer.cohortid]] = answer.userids
                    read.member_lists.append(answer.userids)
            for cohort_id in chunk.items:
                if wanted[cohort_id] not in read.member_ids:
                    read.incomplete.append(
                        f"members of segment {wanted[cohort_id]} missing from the answer"
                    )
