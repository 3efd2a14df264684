"""What a Moodle site keeps outside its database transactions: id sequences and caches."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable


class SiteMemory:
    """What a Moodle site keeps outside its database transactions: sequences and caches.

    Ids come from PostgreSQL sequences that a rolled-back transaction does not give
    back, so after a failed batch the next cohort or group id skips the ids that
    batch took; a reopened database starts again after its highest id. And a group
    created by a ``core_group_create_groups`` batch that then failed stays in the
    course's group cache: ``core_group_get_course_groups`` keeps listing it, and
    ``core_group_get_group_members`` asked for it fails with ``invalidrecord``,
    until a committed group change in that course invalidates the cache.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}
        self._stale_groups: dict[int, dict[int, dict[str, object]]] = {}

    def keep_stale_groups(self, records: list[dict[str, object]]) -> None:
        """Remember groups whose creation was rolled back, as the course cache does."""
        with self._lock:
            for record in records:
                course = int(str(record["courseid"]))
                self._stale_groups.setdefault(course, {})[int(str(record["id"]))] = record

    def forget_stale_groups(self, course_ids: Iterable[int]) -> None:
        """Drop the cached rolled-back groups of courses whose groups just changed.

        Moodle invalidates a course's group cache on every group it creates, updates
        or deletes, so the next committed group change in the course clears them.
        """
        with self._lock:
            for course_id in course_ids:
                self._stale_groups.pop(course_id, None)

    def stale_groups(self, course_id: int) -> list[dict[str, object]]:
        """Return the rolled-back groups a course's cache still lists."""
        with self._lock:
            return list(self._stale_groups.get(course_id, {}).values())

    def next_id(self, db: sqlite3.Connection, table: str) -> int:
        """Return the next id of ``table`` (never one handed out before)."""
        with self._lock:
            if table not in self._last:
                row = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
                self._last[table] = int(row[0])
            highest = int(db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
            self._last[table] = max(self._last[table], highest) + 1
            return self._last[table]
