"""A token stays out of everything when a site answers in ways no Moodle does: in
UTF-16, with a redirect to a host named in other bytes than ASCII; a token too short to
be told from text is refused; a proxy or CA bundle that cannot be set up is an error."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hostile_http import Answer, serve

from plutoctl.cli import main
from plutoctl.errors import ExitCode
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "MOODLE_WS_KEY"  # a name without "TOKEN": no backstop of its own

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [ann]
"""


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=url, var=TOKEN_VAR), encoding="utf-8")
    return path


@pytest.fixture
def lab(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sandbox.store.add_user("ann", firstname="ann", lastname="L")
    sandbox.store.add_cohort("team-a", "Team A")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    return sandbox


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_an_answer_in_utf_16_is_refused_unread(
    lab: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    encoding: str,
) -> None:
    """The token was looked for in UTF-8 only, and the JSON decoder reads UTF-16 by
    itself: a segment name echoing the token reached the plan, its file and the log."""
    caplog.set_level(logging.DEBUG)
    echo = [
        {
            "id": 1,
            "name": "echo " + lab.token,
            "idnumber": "team-a",
            "description": "",
            "descriptionformat": 1,
            "visible": True,
            "theme": "",
            "contextid": 1,
        }
    ]
    body = json.dumps(echo).encode(encoding)
    plan = tmp_path / "plan.json"
    with serve(lab.url) as proxy:
        config = write_config(tmp_path, proxy.url)
        proxy.script("core_cohort_get_cohorts", lambda _form: Answer(200, body))
        code = main(["--debug", "plan", "-c", str(config), "--out", str(plan)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR, out + err
    assert "the answer is not UTF-8 text" in out + err
    saved = plan.read_text(encoding="utf-8") if plan.exists() else ""
    assert lab.token not in out + err + caplog.text + saved


def test_a_redirect_to_a_host_named_in_utf_8_names_no_host(
    lab: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Header text is read as Latin-1: a host made of the token's UTF-8 bytes was named
    in the error as mojibake, from which the token reads back."""
    token = "jéton-secret-0123456789"
    location = f"http://{token}.evil.example/".encode().decode("latin-1")
    with serve() as site:
        site.script("*", lambda _form: Answer(307, b"", (("Location", location),)))
        config = write_config(tmp_path, site.url)
        with pytest.MonkeyPatch.context() as env:
            env.setenv(TOKEN_VAR, token)
            code = main(["plan", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR, out + err
    assert "307" in out + err
    assert "jÃ©ton" not in out + err and "secret-0123456789" not in out + err


@pytest.mark.parametrize("token", ["Team", "bob", "0123456789abcde"])
def test_a_token_too_short_to_tell_from_text_is_refused(
    lab: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    """'Team' as a token blanked 'Team A' in every answer (shown as '[token] A', which
    gives the token away), and the segment's name never settled."""
    config = write_config(tmp_path, lab.url)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(TOKEN_VAR, token)
        code = main(["plan", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR
    assert f"the token in {TOKEN_VAR} is {len(token)} characters long" in out + err
    assert "[token]" not in out + err and lab.log.count("core_webservice_get_site_info") == 0


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem", "REQUESTS_CA_BUNDLE"),
        ("ALL_PROXY", "socks5://127.0.0.1:9", "requests[socks]"),
    ],
    ids=["missing-ca-bundle", "socks-proxy-without-pysocks"],
)
def test_a_proxy_or_ca_bundle_that_cannot_be_set_up_is_an_error_not_a_bug(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    said: str,
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv(TOKEN_VAR, "f" * 32)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    config = write_config(tmp_path, "https://learn.example.com")
    code = main(["plan", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR, out + err
    assert "the connection cannot be set up" in out + err
    assert said in out + err
    assert "failed unexpectedly" not in err
