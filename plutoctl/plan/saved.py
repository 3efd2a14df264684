"""Saved plan files (``plan --out plan.json``, "Saved plans" in docs/safety.md).

A saved plan is the JSON report (``format_version: 1``): every change, and per site
the fingerprint of each touched object's existing state, which ``apply`` compares
against a fresh read. Plans hold no token; ``save_plan`` still refuses to write a
file that contains the value of a token variable from the environment.

Each site's plan is sealed: ``seals`` holds, per site, an HMAC of the whole plan
keyed by that site's token (``SiteClient.seal``). ``apply`` checks it before anything
else for the site, so a plan file changed after it was saved (a change split into
pieces under ``max_removals``, an acknowledgement added) is refused, unless whoever
changed it holds the token. The checks against the config and a fresh read
(``plutoctl.run.reverify``) come after it all the same.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import msgspec

from plutoctl.config.input_files import MAX_PLAN_BYTES, FileRefusedError, read_bounded
from plutoctl.errors import PlanError
from plutoctl.heap import rare_collection
from plutoctl.plan.changes.plans import Plan
from plutoctl.plan.render.json import plan_from_dict, plan_to_dict, render_json_data

logger = logging.getLogger(__name__)

_MIN_SECRET_LENGTH = 8
"""Shorter values are too likely to occur by chance to be treated as secrets."""


Seal = Callable[[bytes], str]
"""Returns the seal of a plan's content for one site (``SiteClient.seal``)."""

_SEALED = b"plutoctl saved plan, format 1\n"  # what a seal is of, ahead of the plan


def sealed_content(plan: Plan) -> bytes:
    """Return what a plan's seals are made of: the plan as ``apply`` reads it, no seals."""
    return _SEALED + msgspec.json.encode(plan_to_dict(replace(plan, seals=())))


def check_seal(plan: Plan, site: str, seal: Seal, content: bytes) -> None:
    """Raise PlanError unless the plan's seal for ``site`` is that of ``content``."""
    recorded = dict(plan.seals).get(site)
    if recorded is None:
        raise PlanError(
            f"the saved plan has no seal for site {site!r}, so nothing shows it is the plan "
            "plutoctl saved",
            hint=_REMAKE,
        )
    if not hmac.compare_digest(recorded, seal(content)):
        raise PlanError(
            f"the saved plan is not the one plutoctl saved for site {site!r}: the file was "
            "changed since, or the plan was made with another token for this site",
            hint=_REMAKE,
        )


_REMAKE = "make the plan again (plutoctl plan --out PLAN) and apply the new file unchanged"


def save_plan(
    plan: Plan, path: str | os.PathLike[str], seals: Mapping[str, Seal] | None = None
) -> None:
    """Write the plan to ``path`` as JSON, atomically (a partial file never remains).

    ``seals``: per site, what seals the plan for it (see the module docstring).
    """
    data = plan_to_dict(replace(plan, seals=()))
    if seals:
        content = _SEALED + msgspec.json.encode(data)
        data["seals"] = {site: seal(content) for site, seal in sorted(seals.items())}
    text = render_json_data(data)
    _refuse_secrets(text)
    target = Path(path)
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, target)
    except OSError as exc:
        raise PlanError(f"cannot write the plan to {target}: {exc.strerror}") from exc
    logger.debug("saved plan to %s", target)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan saved by ``save_plan``; raise PlanError if it is not a usable plan."""
    source = Path(path)
    try:
        text = read_bounded(source, MAX_PLAN_BYTES).decode("utf-8")
    except FileRefusedError as exc:
        raise PlanError(f"cannot read the plan {source}: it {exc.message}", hint=exc.hint) from None
    except OSError as exc:
        raise PlanError(f"cannot read the plan {source}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PlanError(f"{source} is not a plan file: it is not UTF-8 text") from exc
    # A large plan is 100,000s of names and changes, and no cycles: see plutoctl.heap.
    with rare_collection():
        data = _parse(text, source)
        try:
            plan = plan_from_dict(data)
        except PlanError as exc:
            raise PlanError(f"{source}: {exc.message}", hint=exc.hint) from exc
        # The seals are of the plan as read, which leaves out what is derived from it
        # (each change's subject and count, the summaries): those must be what the
        # plan gives, or a reader of the file would be shown another plan than applies.
        changed = _first_difference(plan_to_dict(plan), data, "plan")
    if changed:
        raise PlanError(
            f"{source}: {changed} is not what the plan's changes make it: the file was "
            "changed since it was saved",
            hint=_REMAKE,
        )
    return plan


def _parse(text: str, source: Path) -> object:
    """Return the file's JSON; raise PlanError for what is not JSON, or JSON of two minds."""
    try:
        return json.loads(text, object_pairs_hook=_without_repeats)
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"{source} is not a plan file: invalid JSON at line {exc.lineno}, column {exc.colno}",
            hint="make the plan again with plutoctl plan --out",
        ) from exc
    except _RepeatedKeyError as exc:
        raise PlanError(
            f"{source} is not a plan file: key {exc.args[0]!r} is given twice in one object "
            "(readers differ on which counts)",
            hint=_REMAKE,
        ) from None
    except (ValueError, RecursionError) as exc:  # a number of 4,300 digits; deep nesting
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PlanError(f"{source} is not a plan file: {what}", hint=_REMAKE) from None


class _RepeatedKeyError(ValueError):
    pass


def _without_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKeyError(key)
            seen.add(key)
    return found


def _first_difference(made: object, read: object, path: str) -> str:
    """Return the path of the first value that differs (``True`` is not ``1``), or ""."""
    if isinstance(made, dict) and isinstance(read, dict):
        for key in [*made, *(k for k in read if k not in made)]:
            if key not in made or key not in read:
                return f"{path}.{key}"
            found = _first_difference(made[key], read[key], f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(made, list) and isinstance(read, list):
        if len(made) != len(read):
            return path
        if made == read and all(type(item) is str for item in read):
            return ""  # the usual list: of usernames, compared at once
        for index, (one, other) in enumerate(zip(made, read, strict=True)):
            found = _first_difference(one, other, f"{path}[{index}]")
            if found:
                return found
        return ""
    return "" if type(made) is type(read) and made == read else path


def _refuse_secrets(text: str) -> None:
    """Raise PlanError if the text holds the value of a ``*TOKEN*`` environment variable.

    The message names the variable, never its value.
    """
    for name, value in sorted(os.environ.items()):
        if "TOKEN" in name.upper() and len(value) >= _MIN_SECRET_LENGTH and value in text:
            raise PlanError(
                f"refusing to save the plan: it contains the value of ${name}",
                hint="a plan must never hold a token; report this as a plutoctl bug",
            )
