"""Saved plan files (``plan --out plan.json``, "Saved plans" in docs/safety.md).

A saved plan is the JSON report (``format_version: 1``): every change, and per site
the fingerprint of each touched object's existing state, which ``apply`` compares
against a fresh read. Plans hold no token; ``save_plan`` still refuses to write a
file that contains the value of a token variable from the environment.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from plutoctl.config.input_files import MAX_PLAN_BYTES, FileRefusedError, read_bounded
from plutoctl.errors import PlanError
from plutoctl.heap import rare_collection
from plutoctl.plan.changes.plans import Plan
from plutoctl.plan.render.json import plan_from_dict, render_json

logger = logging.getLogger(__name__)

_MIN_SECRET_LENGTH = 8
"""Shorter values are too likely to occur by chance to be treated as secrets."""


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the plan to ``path`` as JSON, atomically (a partial file never remains)."""
    text = render_json(plan)
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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"{source} is not a plan file: invalid JSON at line {exc.lineno}, "
                f"column {exc.colno}",
                hint="make the plan again with plutoctl plan --out",
            ) from exc
        try:
            return plan_from_dict(data)
        except PlanError as exc:
            raise PlanError(f"{source}: {exc.message}", hint=exc.hint) from exc


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
