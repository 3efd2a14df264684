"""What every function module shares: the function record and the call context."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from plutoctl.sandbox.memory import SiteMemory
from plutoctl.sandbox.params import Nested, Single
from plutoctl.sandbox.wserrors import db_write_error, missing_record

RELEASE = "4.5 (Build: 20241007)"
VERSION = "2024100700"


@dataclass(frozen=True)
class CallContext:
    """What a function may use while it runs: the open transaction and the site facts."""

    db: sqlite3.Connection
    site_url: str
    service_functions: tuple[str, ...]
    memory: SiteMemory = field(default_factory=SiteMemory)

    def next_id(self, table: str) -> int:
        """Return a fresh id for ``table``, spent even if the call rolls back."""
        return self.memory.next_id(self.db, table)


Handler = Callable[[CallContext, Nested], Any]


@dataclass(frozen=True)
class WsFunction:
    """One web-service function: its parameter description, handler and kind."""

    name: str
    params: Single
    handler: Handler
    is_write: bool = False
    is_raw_answer: bool = False
    """The function returns names as sent: ``moodlewssettingraw`` does not format them."""


def as_json_list(values: Iterable[object]) -> str:
    """Encode values for ``json_each(?)``: one SQL parameter for a whole list."""
    return json.dumps(list(values))


def require_row(db: sqlite3.Connection, table: str, record_id: int) -> sqlite3.Row:
    """Return a row by id or raise Moodle's missing-record error for ``table``."""
    row = db.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        raise missing_record(table)
    return row


DB_LIMITS: dict[str, dict[str, int]] = {
    "cohort": {"name": 254, "idnumber": 100},
    "groups": {"name": 254, "idnumber": 100},
}
"""Column sizes (characters) of Moodle's database: a longer value fails the insert."""


def check_columns(table: str, values: dict[str, Any]) -> None:
    """Raise Moodle's dml_write_exception if a value does not fit its column."""
    for column, size in DB_LIMITS[table].items():
        value = values.get(column)
        if isinstance(value, str) and len(value) > size:
            raise db_write_error()


def require_user(db: sqlite3.Connection, user_id: int) -> sqlite3.Row:
    """Return a non-deleted user or raise ``invaliduser``."""
    row = db.execute("SELECT * FROM user WHERE id = ? AND deleted = 0", (user_id,)).fetchone()
    if row is None:
        raise missing_record("user")
    return row
