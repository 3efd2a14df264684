"""Replay every call of the recorded Moodle transcript and compare the answers' shapes.

The sandbox is seeded like the recording site (so ids line up), and every response
must match the recorded one structurally: the same keys, the same JSON types, the
same list lengths, the same warning codes, the same exception, errorcode and message.
Steps recorded with site debugging on ("D…") are replayed against a second sandbox
started with ``debug=True`` that has seen the same calls, and must give the same
``debuginfo``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ws_helpers import post, seed_lab_site

from plutoctl.sandbox import Sandbox

TRANSCRIPT = json.loads((Path(__file__).parent / "data" / "moodle-transcript.json").read_text())
EXACT_KEYS = {"warningcode", "exception", "errorcode", "message", "debuginfo"}


def assert_same_shape(recorded: Any, answered: Any, path: str = "$") -> None:
    """Fail unless ``answered`` has the structure of ``recorded`` (values aside)."""
    assert type(answered) is type(recorded), f"{path}: {answered!r} is not like {recorded!r}"
    if isinstance(recorded, dict):
        assert list(answered) == list(recorded), f"{path}: keys {list(answered)}"
        for key, value in recorded.items():
            if key in EXACT_KEYS:
                assert answered[key] == value, f"{path}.{key}: {answered[key]!r} != {value!r}"
            assert_same_shape(value, answered[key], f"{path}.{key}")
    elif isinstance(recorded, list):
        assert len(answered) == len(recorded), f"{path}: {len(answered)} items, not {len(recorded)}"
        for i, (want, got) in enumerate(zip(recorded, answered, strict=True)):
            assert_same_shape(want, got, f"{path}[{i}]")


def send(sb: Sandbox, step: dict[str, Any]) -> str:
    """Send one recorded call the way it was sent, and return the raw body."""
    params = dict(step["params"])
    name = step["step"]
    token = "0123456789abcdef0123456789abcdef" if "bad token" in name else None
    if step["function"] is None:
        fmt = params.pop("moodlewsrestformat", None)
        response = post(sb, None, params, token=token, fmt=fmt, raw=False)
    elif "wsfunction" in params:
        params.pop("wsfunction")
        response = post(sb, step["function"], params, token=token, fmt=None, raw=False)
    else:
        response = post(sb, step["function"], params, token=token, raw=False)
    assert response.status_code == step["http_status"]
    return response.text


def compare(step: dict[str, Any], body: str) -> None:
    """Compare a body with the recorded one (XML bodies by root and error code)."""
    recorded = step["raw"]
    if recorded.startswith("<?xml"):
        want, got = ET.fromstring(recorded), ET.fromstring(body)
        assert (got.tag, got.get("class")) == (want.tag, want.get("class"))
        assert got.findtext("ERRORCODE") == want.findtext("ERRORCODE")
        assert got.findtext("MESSAGE") == want.findtext("MESSAGE")
        return
    assert_same_shape(json.loads(recorded), json.loads(body))


@pytest.fixture(scope="module")
def replay() -> dict[str, tuple[str, str]]:
    """Run the whole transcript once; return step → (recorded raw, sandbox body)."""
    results: dict[str, tuple[str, str]] = {}
    with Sandbox.start() as plain, Sandbox.start(debug=True) as debug:
        seed_lab_site(plain)
        seed_lab_site(debug)
        for step in TRANSCRIPT:
            if step["step"].startswith("D"):
                results[step["step"]] = (step["raw"], send(debug, step))
                continue
            results[step["step"]] = (step["raw"], send(plain, step))
            send(debug, step)  # keep the debug site in the same state
    return results


@pytest.mark.parametrize("step", TRANSCRIPT, ids=[s["step"] for s in TRANSCRIPT])
def test_step_matches_recording(step: dict[str, Any], replay: dict[str, tuple[str, str]]) -> None:
    compare(step, replay[step["step"]][1])


def test_every_step_was_replayed(replay: dict[str, tuple[str, str]]) -> None:
    assert len(replay) == len(TRANSCRIPT) == 58


def test_shape_comparison_catches_differences() -> None:
    with pytest.raises(AssertionError):
        assert_same_shape({"id": 1, "visible": True}, {"id": 1, "visible": 1})
    with pytest.raises(AssertionError):
        assert_same_shape([{"warningcode": "3"}], [{"warningcode": "2"}])
    with pytest.raises(AssertionError):
        assert_same_shape({"a": 1, "b": 2}, {"b": 2, "a": 1})
