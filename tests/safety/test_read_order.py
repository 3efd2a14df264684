"""A segment whose members on the site decide who stays in its groups and courses is
read after them: a user added to it while the site is read is never taken out."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from hostile_http import ENDPOINT, Answer, serve

from plutoctl.cli import main
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_ORDER"
WAIT = 0.5  # how long a course's read waits for the segment's to be answered first

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    membership: additive
    members: [ann]
courses:
  C1:
    groups:
      g1:
        name: G1
        segment: team-a
    enrol:
      - segment: team-a
        unenrol: true
policy:
  max_removals: 100%
"""


def test_a_user_added_to_an_additive_segment_while_the_site_is_read_stays(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """Someone adds bob to team-a as the site is read, and cohort sync puts him in its
    course and group. Read before them, the segment lacked him while the course and
    group held him: the plan took him out of both."""
    store = sandbox.store
    for name in ("ann", "bob"):
        store.add_user(name, firstname=name, lastname="L")
    store.add_course("C1")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR), encoding="utf-8")
    assert main(["apply", "-c", str(config), "--auto-approve"]) == 0
    capsys.readouterr()
    answered = threading.Event()

    def members(form: dict[str, str]) -> Answer:
        request = urllib.request.Request(
            sandbox.url + ENDPOINT, urllib.parse.urlencode(form).encode()
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        if not answered.is_set():  # then bob joins, and cohort sync follows
            store.add_cohort_members("team-a", ["bob"])
            store.enrol("bob", "C1")
            store.add_group_members("C1", "g1", ["bob"])
            answered.set()
        return Answer(200, body, (("Content-Type", "application/json"),))

    def course_read(form: dict[str, str]) -> None:
        answered.wait(WAIT)  # a course read after the segment's, where reads overlap
        return None

    with serve(sandbox.url) as proxy:
        config.write_text(CONFIG.format(url=proxy.url, var=TOKEN_VAR), encoding="utf-8")
        proxy.script("core_cohort_get_cohort_members", members)
        proxy.script("core_group_get_group_members", course_read)
        proxy.script("core_enrol_get_enrolled_users", course_read)
        assert main(["plan", "-c", str(config), "--format", "json"]) == 0
        out, _ = capsys.readouterr()
        [site] = json.loads(out)["sites"]
        assert [c["step"] for c in site["changes"]] == [], site["changes"]
        assert main(["apply", "-c", str(config), "--auto-approve"]) == 0
    assert "bob" in store.group_members("C1", "g1")
    assert "bob" in store.enrolments("C1")
    config.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR), encoding="utf-8")
    assert main(["plan", "-c", str(config), "--detailed-exitcode"]) == 0
