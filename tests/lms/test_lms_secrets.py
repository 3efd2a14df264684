"""The token never appears: not in exceptions, log records, reprs, output or saved files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from plutoctl.cli import main
from plutoctl.errors import LmsError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_LAB"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(max_input_vars=60, debug=True) as sandbox:
        sandbox.store.add_profile_field("region", "text")
        for i in range(12):
            sandbox.store.add_user(f"user{i:02d}", custom={"region": "emea"})
        sandbox.store.add_cohort("team-a", "Team A")
        sandbox.store.add_cohort_members("team-a", ["user01", "user02"])
        sandbox.store.add_course("LAB101")
        sandbox.store.enrol("user01", "LAB101")
        yield sandbox


def error_texts(error: BaseException) -> list[str]:
    """Return every text an error and its chain could show."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), *map(str, seen.args)]
        if isinstance(seen, LmsError):
            texts += [seen.reason, seen.hint or "", seen.message]
        seen = seen.__cause__ or seen.__context__
    return texts


def test_token_is_absent_everywhere_even_when_echoed(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sb.token
    texts: list[str] = []
    client = SiteClient(
        site="lab",
        url=sb.url,
        token=token,
        max_input_vars=60,
        retry=RetryPolicy(attempts=2, backoff=0),
        sleep=lambda _s: None,
    )
    texts.append(repr(client))
    scope = ReadScope(
        segments=frozenset({"team-a"}),
        needs_all_users=True,
        courses=frozenset({"LAB101"}),
        page_size=5,
    )
    texts.append(repr(read_site(client, scope)))

    # Calls whose errors may echo what was sent, the token included.
    echoing = [
        ("core_user_get_users_by_field", {"field": token, "values": ["x"]}),
        ("core_cohort_get_cohort_members", {"cohortids": [token]}),
        ("core_group_create_groups", {"groups": [{"name": token, "description": ""}]}),
        (f"core_{token}", {}),
    ]
    errors: list[LmsError] = []
    for function, params in echoing:
        with pytest.raises(LmsError) as caught:
            client.call(function, params, retry_safe=False)
        errors.append(caught.value)
    sb.faults.inject(kind="status", status=503, rate=1.0, function="core_cohort_get_cohorts")
    with pytest.raises(LmsError) as caught:
        client.call("core_cohort_get_cohorts", retry_safe=True)
    errors.append(caught.value)
    sb.faults.clear()
    with pytest.raises(LmsError) as caught:  # a wrong token that looks like the real one
        SiteClient(site="lab", url=sb.url, token=token[:-4] + "ffff").site_info()
    errors.append(caught.value)
    client.close()

    for error in errors:
        texts += error_texts(error)
    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    leaks = [text for text in texts if token in text]
    assert leaks == []
    # The site did echo the token (debuginfo quotes bad values); it was redacted.
    assert any("[token]" in str(error) for error in errors[:3])
    assert "[token]" in caplog.text
    assert any(record.levelno == logging.DEBUG for record in caplog.records)


CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [user01, user02, user03]
"""


def write_config(tmp_path: Path, sb: Sandbox) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=sb.url, var=TOKEN_VAR), encoding="utf-8")
    return path


def test_plan_with_a_wrong_token_exits_1_saying_the_token_was_refused(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = sb.token[:-4] + "0000"
    monkeypatch.setenv(TOKEN_VAR, wrong)
    code = main(["plan", "-c", str(write_config(tmp_path, sb))])
    out, err = capsys.readouterr()
    assert code == 1
    assert "refused the token" in out + err
    assert wrong not in out + err


def test_saved_plan_and_output_hold_no_token(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_VAR, sb.token)
    saved = tmp_path / "plan.json"
    code = main(["--debug", "plan", "-c", str(write_config(tmp_path, sb)), "--out", str(saved)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "team-a" in saved.read_text(encoding="utf-8")
    assert sb.token not in saved.read_text(encoding="utf-8")
    assert sb.token not in out + err
