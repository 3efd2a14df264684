"""Helpers for sandbox tests: PHP bracket encoding and one-call web-service requests."""

from __future__ import annotations

import json
from typing import Any

import requests

from plutoctl.sandbox import Sandbox

ENDPOINT = "/webservice/rest/server.php"


def flatten(params: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested params into PHP bracket form (``a[0][b]=x``)."""
    if isinstance(params, dict):
        items = list(params.items())
    elif isinstance(params, list):
        items = list(enumerate(params))
    else:
        value = str(int(params)) if isinstance(params, bool) else str(params)
        return [(prefix, value)]
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(flatten(value, name))
    return pairs


def post(
    sb: Sandbox,
    function: str | None,
    params: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    fmt: str | None = "json",
    raw: bool = True,
) -> requests.Response:
    """POST one call; ``token`` overrides the sandbox's, ``fmt=None`` asks for XML."""
    data = [("wstoken", sb.token if token is None else token)]
    if function is not None:
        data.append(("wsfunction", function))
    if fmt is not None:
        data.append(("moodlewsrestformat", fmt))
    if raw:
        data.append(("moodlewssettingraw", "1"))
    data += flatten(params or {})
    return requests.post(sb.url + ENDPOINT, data=data, timeout=10)


def call(sb: Sandbox, function: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Call a function and return the decoded JSON body (errors included)."""
    response = post(sb, function, params, **kwargs)
    assert response.status_code == 200
    return json.loads(response.text)


def error_code(body: Any) -> str | None:
    """Return the errorcode of an error body, else None."""
    return body.get("errorcode") if isinstance(body, dict) and "exception" in body else None


DEPARTMENTS = ("Sales", "HR", "IT", "Ops")


def seed_lab_site(sb: Sandbox) -> None:
    """Seed the site the reference transcript was recorded on, ids included.

    50 users ``labuser01``… (ids 3–52, department menu Sales/HR/IT/Ops, ``labuser01``
    in Sales), 3 spare users (so the next user id is 56), 3 courses (LAB101 is id 2),
    7 older cohorts (so the next is 8) and 5 groups in other courses (next is 6).
    """
    store = sb.store
    store.add_profile_field("department", "menu", DEPARTMENTS, name="Department")
    for n in range(1, 51):
        store.add_user(
            f"labuser{n:02d}", "Alice" if n == 1 else f"User{n:02d}", f"Smith{n:02d}",
            idnumber=f"EMP{n:04d}", custom={"department": DEPARTMENTS[(n - 1) % 4]},
        )  # fmt: skip
    for n in range(1, 4):
        store.add_user(f"spare{n}")
    for shortname in ("LAB101", "LAB102", "LAB103"):
        store.add_course(shortname, f"Lab course {shortname}")
    for n in range(1, 8):
        store.add_cohort(f"legacy-{n}", f"Legacy {n}")
    for n in range(1, 6):
        store.add_group("LAB102" if n % 2 else "LAB103", f"Old group {n}", f"old-{n}")
