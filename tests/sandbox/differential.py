"""Replay the 542 call sequences recorded from a real Moodle 4.5 site against sandboxes.

``data/moodle-differential.jsonl.gz`` holds the sequences (each call as sent and the
site's exact answer, and the site's state at the end); ``data/moodle-differential-
baseline.json`` the small site every sequence starts from. ``replay_all`` runs each
sequence against a fresh sandbox seeded with that baseline, several at once, and
compares every answer and every final state; ``Figures`` sums the result.

An answer is *exact* when status, content type and body text are identical once
the recording site's address is replaced by the sandbox's (it cannot be the same);
*equal after masking* when the bodies are identical once timestamps are masked
(replaced by their type, as ``moodle-differential.md`` asks); else *different*.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.client
import json
import multiprocessing
import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

from requests.utils import get_encoding_from_headers

from plutoctl.sandbox import Sandbox
from plutoctl.sandbox.schema import ADMIN_ID, GUEST_ID, SITE_COURSE_ID

DATA = Path(__file__).parent / "data"
RECORDED_SITE = "http://127.0.0.1:8080"
ENDPOINT = "/webservice/rest/server.php"
MISSING_ID = 777777
BAD_TOKEN = "0123456789abcdef0123456789abcdef"
TIMESTAMP_KEYS = frozenset(
    {
        "timecreated",
        "timemodified",
        "firstaccess",
        "lastaccess",
        "lastcourseaccess",
        "timeaccess",
        "startdate",
        "enddate",
    }
)
# The theme revision inside image URLs is the time the theme cache was last purged.
_REVISION = re.compile(r"(\\?/theme\\?/image\.php\\?/\w+\\?/core\\?/)\d+(\\?/)")
_XML_TIMESTAMP = re.compile(
    r'(<KEY name="(?:' + "|".join(sorted(TIMESTAMP_KEYS)) + r')"><VALUE>)\d+(</VALUE>)'
)


def load_sequences(indexes: range | None = None) -> list[dict[str, Any]]:
    """Return the recorded sequences (those at ``indexes`` only, if given), in file order.

    Only the sequences asked for are decoded: each replaying process needs its share.
    """
    lines = _sequence_lines()
    return [json.loads(lines[i]) for i in (range(len(lines)) if indexes is None else indexes)]


def _sequence_lines() -> list[str]:
    with gzip.open(DATA / "moodle-differential.jsonl.gz", "rt", encoding="utf-8") as stream:
        return [line for line in stream if line.strip()]


def load_baseline() -> dict[str, Any]:
    """Return the recorded baseline site."""
    return json.loads((DATA / "moodle-differential-baseline.json").read_text())


# --- seeding --------------------------------------------------------------------------


def seed_baseline(sb: Sandbox, baseline: dict[str, Any]) -> None:
    """Seed a new sandbox with the baseline, so ids line up with the recording."""
    store = sb.store
    for spec in baseline["profile_fields"]:
        store.add_profile_field(spec["shortname"], spec["datatype"], spec["options"])
    for user in baseline["users"]:
        if user["id"] in (GUEST_ID, ADMIN_ID):
            continue
        custom = {f["shortname"]: f["value"] for f in user.get("customfields", [])}
        new_id = store.add_user(
            user["username"], user["firstname"], user["lastname"], user["email"], custom=custom
        )
        assert new_id == user["id"], f"{user['username']} got id {new_id}, not {user['id']}"
    courses = sorted(baseline["courses"], key=lambda c: c["id"])
    site = courses[0]
    assert site["id"] == SITE_COURSE_ID
    with store.transaction() as db:
        db.execute(
            "UPDATE course SET shortname = ?, fullname = ?, summary = ? WHERE id = ?",
            (site["shortname"], site["fullname"], site["summary"], SITE_COURSE_ID),
        )
    for course in courses[1:]:
        new_id = store.add_course(course["shortname"], course["fullname"])
        assert new_id == course["id"]
        with store.transaction() as db:
            db.execute("UPDATE course SET summary = ? WHERE id = ?", (course["summary"], new_id))


# --- requests ---------------------------------------------------------------------


@dataclass
class Labels:
    """What the references of one sequence stand for: users, courses, created items."""

    users: dict[str, int]
    courses: dict[str, int]
    created: dict[str, dict[str, int]] = field(default_factory=lambda: {"cohort": {}, "group": {}})

    def resolve(self, value: Any) -> Any:
        """Replace every ``{"$ref": …}`` in ``value`` by the id it stands for."""
        if isinstance(value, dict):
            if "$ref" in value:
                return self._id(value["$ref"], value["name"])
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _id(self, kind: str, name: str) -> int:
        match kind:
            case "user":
                return self.users.get(name, MISSING_ID)
            case "course":
                return SITE_COURSE_ID if name == "SITE" else self.courses.get(name, MISSING_ID)
            case _:
                return self.created[kind].get(name, MISSING_ID)

    def bind(self, step: dict[str, Any], answer: Any) -> None:
        """Name the items a create call made by the step's labels."""
        if "creates" not in step or not isinstance(answer, list):
            return
        for label, item in zip(step["labels"], answer, strict=False):
            if isinstance(item, dict) and "id" in item:
                self.created[step["creates"]][label] = int(item["id"])


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested params into PHP bracket variables (booleans as 1/0)."""
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [(prefix, str(int(value)) if isinstance(value, bool) else str(value))]
    pairs: list[tuple[str, str]] = []
    for key, item in items:
        pairs.extend(flatten(item, f"{prefix}[{key}]" if prefix else str(key)))
    return pairs


def request_pairs(sb: Sandbox, step: dict[str, Any], labels: Labels) -> list[tuple[str, str]]:
    """Return the request variables of one step, in the order they were sent."""
    reserved: list[tuple[str, str]] = []
    token = step.get("token", "good")
    if token != "missing":
        reserved.append(("wstoken", sb.token if token == "good" else BAD_TOKEN))
    function = step.get("wsfunction", step["fn"])
    if function is not None:
        reserved.append(("wsfunction", function))
    fmt = step.get("format", "json")
    if fmt is not None:
        reserved.append(("moodlewsrestformat", fmt))
    if step.get("raw", True):
        reserved.append(("moodlewssettingraw", "1"))
    if "pairs" in step:
        body = [(key, str(labels.resolve(value))) for key, value in step["pairs"]]
    else:
        body = flatten(labels.resolve(step["params"]))
    return body + reserved if step.get("reserved_at_end") else reserved + body


# --- comparing --------------------------------------------------------------------

_TIMESTAMP = re.compile(r'("(?:' + "|".join(sorted(TIMESTAMP_KEYS)) + r')":)\d+')
# The admin's own record carries two preferences that are times of its last visit.
_PREFERENCE_TIME = re.compile(
    r'("name":"(?:last_time_enrolments_synced|_lastloaded)","value":"?)\d+("?\})'
)
# A random key a new site makes for its admin's file URLs (not a time, but as run-bound).
_PRIVATE_KEY = re.compile(r'("userprivateaccesskey":")[0-9a-f]{32}')
_TRUNCATED = re.compile(r"…\(\+(\d+)\)$")


def masked_text(text: str) -> str:
    """Return a body with timestamps replaced by their type (JSON and XML alike)."""
    text = _XML_TIMESTAMP.sub(r"\1<int>\2", _TIMESTAMP.sub(r"\1<int>", text))
    text = _PREFERENCE_TIME.sub(r"\1<time>\2", text)
    text = _PRIVATE_KEY.sub(r"\1<key>", text)
    return _REVISION.sub(r"\1<rev>\2", text)


def same_text(recorded: str, answered: str, *, is_masked: bool) -> bool:
    """Compare a body with the recorded one (which may be cut: ``prefix…(+N)``).

    A cut recording matches when the answer starts with its prefix and is exactly
    N characters longer than it.
    """
    cut = _TRUNCATED.search(recorded)
    if cut is not None:
        prefix = recorded[: cut.start()]
        if len(answered) != len(prefix) + int(cut.group(1)):
            return False
        recorded, answered = prefix, answered[: len(prefix)]
        if is_masked:  # a number cut in half by the recording (a timestamp, say) is dropped
            recorded, answered = recorded.rstrip("0123456789"), answered.rstrip("0123456789")
    if is_masked:
        return masked_text(recorded) == masked_text(answered)
    return recorded == answered


@dataclass(frozen=True)
class Call:
    """One replayed call: where it is, what Moodle said, what the sandbox said."""

    sequence: str
    index: int
    function: str
    params: Any
    recorded: dict[str, Any]
    status: int
    content_type: str
    body: str

    @property
    def expected_body(self) -> str:
        """The recorded body with the recording site's address replaced by the sandbox's."""
        return self.recorded["body"]

    @property
    def is_exact(self) -> bool:
        """Whether status, content type and body text are identical."""
        return (
            self.status == self.recorded["status"]
            and self.content_type == self.recorded["content_type"]
            and same_text(self.expected_body, self.body, is_masked=False)
        )

    @property
    def is_equal_masked(self) -> bool:
        """Whether status and body are identical once timestamps are masked."""
        return self.status == self.recorded["status"] and same_text(
            self.expected_body, self.body, is_masked=True
        )

    def error(self) -> tuple[Any, Any] | None:
        """Return (recorded, answered) error class/errorcode/message when either is an error."""
        return _error_fields(self.expected_body), _error_fields(self.body)


def _error_fields(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and "exception" in value:
        return (value.get("exception"), value.get("errorcode"), value.get("message"))
    return None


@dataclass(frozen=True)
class Outcome:
    """One replayed sequence: its calls and both final states."""

    sequence: str
    calls: list[Call]
    recorded_state: dict[str, Any]
    state: dict[str, Any]

    @property
    def is_state_equal(self) -> bool:
        """Whether the sandbox ended in the recorded state."""
        return self.state == self.recorded_state


@dataclass(frozen=True)
class Figures:
    """The replay's totals."""

    calls: int
    exact: int
    masked: int
    different: int
    sequences: int
    states_equal: int

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Figures:
        """Sum the outcomes (``masked`` counts the exact ones too)."""
        calls = [call for outcome in outcomes for call in outcome.calls]
        masked = sum(call.is_equal_masked for call in calls)
        return cls(
            calls=len(calls),
            exact=sum(call.is_exact for call in calls),
            masked=masked,
            different=len(calls) - masked,
            sequences=len(outcomes),
            states_equal=sum(outcome.is_state_equal for outcome in outcomes),
        )

    def lines(self) -> list[str]:
        """Return the figures as quotable lines."""
        share = 100 * self.masked / self.calls if self.calls else 0.0
        return [
            f"calls replayed: {self.calls} in {self.sequences} sequences",
            f"calls exact: {self.exact}",
            f"calls equal after masking timestamps: {self.masked} ({share:.2f}%)",
            f"calls different: {self.different}",
            f"final states equal: {self.states_equal} of {self.sequences}",
        ]


# --- final state ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status_code: int
    content_type: str
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Loopback:
    """A keep-alive HTTP client for one sandbox: a form POST as requests sends it, for
    a fraction of requests' CPU per call (the replay makes 2,358 of them).

    The body is encoded as ``urlencode`` (and so requests) encodes ``data``, and the
    text decoded as requests' ``Response.text`` does for the content types the sandbox
    answers with.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self._path = parts.path.rstrip("/") + ENDPOINT

    def post(self, data: list[tuple[str, str]]) -> Reply:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = "&".join(f"{_quoted_key(str(key))}={quote_plus(str(value))}" for key, value in data)
        self._connection.request("POST", self._path, body.encode(), headers)
        response = self._connection.getresponse()
        body = response.read()
        if response.will_close:
            self._connection.close()  # the next request opens a new connection
        content_type = response.getheader("Content-Type", "")
        encoding = get_encoding_from_headers({"content-type": content_type}) or "utf-8"
        return Reply(response.status, content_type, body.decode(encoding, "replace"))

    def close(self) -> None:
        self._connection.close()


@functools.lru_cache(maxsize=4096)
def _quoted_key(key: str) -> str:
    """``quote_plus(key)``, kept: the replay sends the same bracket keys over and over."""
    return quote_plus(key)


def final_state(sb: Sandbox, labels: Labels, session: Loopback) -> dict[str, Any]:
    """Read the sandbox's state in the recording's form (items named by their labels).

    Groups and their members are read as the recording site's were, over the web
    service (so a group the course cache still lists shows, and a course whose
    members cannot be read shows its error); the rest straight from the database.
    Items no label names are keyed ``?name``.
    """
    cohort_names = {v: k for k, v in labels.created["cohort"].items()}
    with sb.store.transaction() as db:
        courses = {
            row["id"]: row["shortname"]
            for row in db.execute("SELECT id, shortname FROM course WHERE id != ?", (1,))
        }
        state = {
            "cohorts": _cohorts(db, cohort_names),
            "cohort_members": _members(db, "cohort_members", "cohortid", cohort_names),
            "enrolments": _enrolments(db, courses),
            "active": _active(db, courses),
        }
    state["groups"], state["group_members"] = _groups_over_ws(sb, courses, labels, session)
    return state


def _ws(sb: Sandbox, session: Loopback, function: str, params: dict[str, Any]) -> Any:
    data = [
        ("wstoken", sb.token),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
        ("moodlewssettingraw", "1"),
        *flatten(params),
    ]
    return session.post(data).json()


def _groups_over_ws(
    sb: Sandbox, courses: dict[int, str], labels: Labels, session: Loopback
) -> tuple[Any, Any]:
    names = {v: k for k, v in labels.created["group"].items()}
    groups: dict[str, Any] = {}
    members: dict[str, Any] = {}
    for course_id, shortname in courses.items():
        listed = _ws(sb, session, "core_group_get_course_groups", {"courseid": course_id})
        keys = {g["id"]: f"{shortname}/{names.get(g['id'], '?' + g['name'])}" for g in listed}
        for group in listed:
            groups[keys[group["id"]]] = {
                key: group[key]
                for key in ("name", "idnumber", "description", "visibility", "participation")
            }
        if not listed:
            continue
        answer = _ws(sb, session, "core_group_get_group_members", {"groupids": list(keys)})
        if isinstance(answer, dict) and "exception" in answer:
            members[f"{shortname}/<error>"] = [f"{answer['errorcode']}: {answer['message']}"]
            continue
        for item in answer:
            members[keys[item["groupid"]]] = sorted(
                _username(sb, user_id) for user_id in item["userids"]
            )
    return groups, members


def _username(sb: Sandbox, user_id: int) -> str:
    with sb.store.transaction() as db:
        return str(db.execute("SELECT username FROM user WHERE id = ?", (user_id,)).fetchone()[0])


def _cohorts(db: sqlite3.Connection, names: dict[int, str]) -> dict[str, Any]:
    return {
        names.get(row["id"], f"?{row['name']}"): {
            "idnumber": row["idnumber"],
            "name": row["name"],
            "visible": bool(row["visible"]),
            "context": "system" if row["contextid"] == 1 else "category",
            "description": row["description"],
            "descriptionformat": row["descriptionformat"],
            "theme": row["theme"],
        }
        for row in db.execute("SELECT * FROM cohort ORDER BY id")
    }


def _members(db: sqlite3.Connection, table: str, column: str, names: dict[int, str]) -> Any:
    result: dict[str, list[str]] = {}
    for row in db.execute(f"SELECT id FROM {table.split('_')[0]} ORDER BY id"):
        users = db.execute(
            f"SELECT u.username FROM {table} m JOIN user u ON u.id = m.userid "
            f"WHERE m.{column} = ? ORDER BY u.username",
            (row[0],),
        )
        name = db.execute(f"SELECT name FROM {table.split('_')[0]} WHERE id = ?", (row[0],))
        result[names.get(row[0], f"?{name.fetchone()[0]}")] = [user[0] for user in users]
    return result


def _enrolments(db: sqlite3.Connection, courses: dict[int, str]) -> dict[str, Any]:
    result: dict[str, dict[str, list[str]]] = {name: {} for name in courses.values()}
    rows = db.execute(
        "SELECT e.courseid, u.username, r.shortname FROM user_enrolments ue "
        "JOIN enrol e ON e.id = ue.enrolid JOIN user u ON u.id = ue.userid "
        "LEFT JOIN role_assignments ra ON ra.courseid = e.courseid AND ra.userid = u.id "
        "LEFT JOIN role r ON r.id = ra.roleid ORDER BY u.username, r.shortname"
    )
    for course_id, username, role in rows:
        if course_id in courses:
            roles = result[courses[course_id]].setdefault(username, [])
            if role:
                roles.append(role)
    return result


def _active(db: sqlite3.Connection, courses: dict[int, str]) -> dict[str, Any]:
    result: dict[str, list[str]] = {name: [] for name in courses.values()}
    rows = db.execute(
        "SELECT e.courseid, u.username FROM user_enrolments ue "
        "JOIN enrol e ON e.id = ue.enrolid JOIN user u ON u.id = ue.userid "
        "WHERE ue.status = 0 AND e.status = 0 AND u.suspended = 0 ORDER BY u.username"
    )
    for course_id, username in rows:
        if course_id in courses:
            result[courses[course_id]].append(username)
    return result


# --- running ----------------------------------------------------------------------


def replay(sequence: dict[str, Any], baseline: dict[str, Any]) -> Outcome:
    """Replay one sequence against a fresh sandbox seeded with the baseline."""
    functions = [f["name"] for f in baseline["site_info"]["functions"]]
    with Sandbox.start(max_input_vars=baseline["max_input_vars"], functions=functions) as sb:
        seed_baseline(sb, baseline)
        labels = Labels(
            users={u["username"]: u["id"] for u in baseline["users"]},
            courses={c["shortname"]: c["id"] for c in baseline["courses"]},
        )
        session = Loopback(sb.url)
        try:
            calls = list(_run_steps(sb, sequence, labels, session))
            state = final_state(sb, labels, session)
        finally:
            session.close()
    return Outcome(sequence["sequence"], calls, sequence["real_final_state"], state)


def _run_steps(
    sb: Sandbox, sequence: dict[str, Any], labels: Labels, session: Loopback
) -> Iterator[Call]:
    for index, step in enumerate(sequence["steps"]):
        data = request_pairs(sb, step, labels)
        response = session.post(data)
        escaped = (sb.url.replace("/", "\\/"), RECORDED_SITE.replace("/", "\\/"))
        body = response.text.replace(*escaped).replace(sb.url, RECORDED_SITE)
        with contextlib.suppress(ValueError):
            labels.bind(step, json.loads(body))
        yield Call(
            sequence["sequence"],
            index,
            step["fn"],
            step["params"],
            step["real"],
            response.status_code,
            response.content_type,
            body,
        )


def replay_all(workers: int = 8, processes: int = 2) -> list[Outcome]:
    """Replay every recorded sequence; outcomes in file order.

    The work is CPU-bound Python on both ends of each HTTP call, so it is spread over
    ``processes`` processes (one per core), each replaying ``workers`` at a time.
    """
    count = len(_sequence_lines())
    shares = [range(start, count, processes) for start in range(processes)]
    if processes <= 1:
        return replay_share(shares[0], workers)
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        parts = list(pool.map(replay_share, shares, [workers] * processes))
    ordered: list[Outcome | None] = [None] * count
    for share, part in zip(shares, parts, strict=True):
        for index, outcome in zip(share, part, strict=True):
            ordered[index] = outcome
    return [outcome for outcome in ordered if outcome is not None]


def replay_share(indexes: range, workers: int) -> list[Outcome]:
    """Replay the sequences at ``indexes``, ``workers`` at a time (one process's share)."""
    sequences, baseline = load_sequences(indexes), load_baseline()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda sequence: replay(sequence, baseline), sequences))
