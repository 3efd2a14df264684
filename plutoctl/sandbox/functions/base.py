"""What every function module shares: the function record and the call context."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from plutoctl.sandbox.params import Nested, Single
from plutoctl.sandbox.wserrors import missing_record

RELEASE = "4.5 (Build: 20241007)"
VERSION = "2024100700"


@dataclass(frozen=True)
class CallContext:
    """What a function may use while it runs: the open transaction and the site facts."""

    db: sqlite3.Connection
    site_url: str
    service_functions: tuple[str, ...]


Handler = Callable[[CallContext, Nested], Any]


@dataclass(frozen=True)
class WsFunction:
    """One web-service function: its parameter description, handler and kind."""

    name: str
    params: Single
    handler: Handler
    is_write: bool = False


def as_json_list(values: Iterable[object]) -> str:
    """Encode values for ``json_each(?)``: one SQL parameter for a whole list."""
    return json.dumps(list(values))


def require_row(db: sqlite3.Connection, table: str, record_id: int) -> sqlite3.Row:
    """Return a row by id or raise Moodle's missing-record error for ``table``."""
    row = db.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        raise missing_record(table)
    return row


def require_user(db: sqlite3.Connection, user_id: int) -> sqlite3.Row:
    """Return a non-deleted user or raise ``invaliduser``."""
    row = db.execute("SELECT * FROM user WHERE id = ? AND deleted = 0", (user_id,)).fetchone()
    if row is None:
        raise missing_record("user")
    return row
