"""Usernames as Moodle reads them (its ``PARAM_USERNAME`` cleaning).

Moodle trims a username and lowercases it wherever one is entered (the bulk upload
tools included), so an HR export holding `` JDoe `` means ``jdoe``. plutoctl reads
usernames the same way and says once per file how many it changed. What the cleaning
would go on to strip (spaces inside, characters other than ``a-z 0-9 - _ . @``) is
not guessed at: such a username stays an error with its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from plutoctl.errors import Position, Problem

# PHP's trim() strips exactly these; Python's strip() would also take Unicode spaces,
# which Moodle keeps (and then rejects).
_PHP_TRIM = " \t\n\r\0\x0b"

KeyPath = tuple[str | int, ...]

# What is left once Moodle has trimmed and lowercased: anything else it would strip.
VALID_USERNAME = re.compile(r"^[a-z0-9._@-]+$")


CLEAN_CHARS = "a-z0-9._@-"
"""The characters of a username as Moodle's cleaning leaves it (a regex class's body)."""

is_clean = re.compile(f"[{CLEAN_CHARS}]+").fullmatch
"""Whether a username is exactly as Moodle's cleaning leaves it (``fullmatch``: a final
newline is not let through as ``$`` would)."""

# Clean usernames, each followed by a line break: see are_clean.
_ALL_CLEAN = re.compile(r"(?:[a-z0-9._@-]+\n)*")


def are_clean(names: Sequence[object]) -> bool:
    """Return whether every name is text that ``is_clean`` takes, checked in one match.

    Lists and files of usernames run to 100,000s of names, nearly always all clean: one
    match over them all costs a fraction of a match each.
    """
    if not names:
        return True
    if not set(map(type, names)) <= {str}:
        return False
    joined = "\n".join(cast(Sequence[str], names)) + "\n"
    # As many line breaks as names: none holds one (YAML text may), so the match sees
    # each name whole.
    return joined.count("\n") == len(names) and _ALL_CLEAN.fullmatch(joined) is not None


def php_trimmed(raw: str) -> str:
    """Return ``raw`` without what PHP's trim() removes: spaces, tabs, line breaks, NUL,
    vertical tabs; never a no-break or other Unicode space, which Moodle keeps."""
    return raw.strip(_PHP_TRIM)


def clean_username(raw: str) -> str:
    """Return ``raw`` trimmed and lowercased, as Moodle's PARAM_USERNAME does first."""
    return php_trimmed(raw).lower()


def cleaned_if_valid(raw: str) -> str:
    """Return the cleaned username when cleaning makes it valid, else ``raw`` unchanged
    (so that its error names what the file holds)."""
    cleaned = clean_username(raw)
    return cleaned if VALID_USERNAME.match(cleaned) else raw


@dataclass
class NormalisedCount:
    """How many usernames of one file were changed by cleaning, and the first one."""

    count: int = 0
    first: tuple[Position, str, str] | None = None

    def note(self, position: Position | None, raw: str, cleaned: str) -> None:
        """Record one changed username (only the first is kept as the example)."""
        self.count += 1
        if self.first is None and position is not None:
            self.first = (position, raw, cleaned)

    def warning(self, shown_path: str) -> Problem | None:
        """Return the file's one warning, or None when nothing was changed."""
        if not self.count:
            return None
        position, raw, cleaned = self.first or (Position(shown_path), "", "")
        plural = "username was" if self.count == 1 else "usernames were"
        return Problem(
            position,
            f"{self.count:,} {plural} normalised as Moodle reads them (trimmed, lowercased), "
            f"e.g. {raw!r} -> {cleaned!r}",
            hint="write usernames in lowercase without surrounding spaces to silence this",
            is_warning=True,
        )


_USERNAME_LISTS = ("members", "exclude")


def clean_config_usernames(
    data: dict[str, Any], positions: Mapping[KeyPath, Position], shown_path: str
) -> tuple[dict[str, Any], Problem | None]:
    """Return the config data with ``members``/``exclude`` usernames cleaned, and the
    file's warning if any was changed. ``data`` itself is left as it was."""
    segments = data.get("segments")
    if not isinstance(segments, dict):
        return data, None
    counter = NormalisedCount()
    cleaned_segments: dict[Any, Any] = {}
    for sid, segment in segments.items():
        if isinstance(segment, dict):
            segment = _clean_segment(sid, segment, positions, counter)
        cleaned_segments[sid] = segment
    if not counter.count:
        return data, None
    return {**data, "segments": cleaned_segments}, counter.warning(shown_path)


def _clean_segment(
    sid: object,
    segment: dict[str, Any],
    positions: Mapping[KeyPath, Position],
    counter: NormalisedCount,
) -> dict[str, Any]:
    result = dict(segment)
    for key in _USERNAME_LISTS:
        names = segment.get(key)
        if not isinstance(names, list):
            continue
        if are_clean(names):
            result[key] = list(names)  # as Moodle stores them, the usual case
            continue
        cleaned = []
        for i, name in enumerate(names):
            if type(name) is str and is_clean(name):
                cleaned.append(name)  # as Moodle stores it, the usual case: one match
                continue
            if isinstance(name, str):
                new = cleaned_if_valid(name)
                if new != name:
                    counter.note(positions.get(("segments", str(sid), key, i)), name, new)
                    name = new
            cleaned.append(name)
        result[key] = cleaned
    return result


def username_problem(username: str) -> tuple[str, str | None] | None:
    """Return (message, hint) if a username breaks Pluto's rule, else None."""
    if VALID_USERNAME.match(username):
        return None
    if not username:
        return "empty username", None
    if VALID_USERNAME.match(username.lower()):
        return (
            f"username {username!r} has capital letters",
            f"usernames are lowercase: write {username.lower()!r}",
        )
    unseen = next((c for c in username if c.isspace() and not c.isascii()), None)
    if unseen is not None:  # a no-break space from a spreadsheet, invisible in the file
        return (
            f"username {username!r} holds the space character U+{ord(unseen):04X}, which "
            "Moodle does not trim",
            "remove it (spreadsheets often paste a no-break space, U+00A0)",
        )
    return (
        f"username {username!r} is not valid",
        "Moodle usernames hold only letters, digits and - _ . @ (no spaces inside; "
        "letters are read as lowercase)",
    )
