"""The token goes only to the configured site, and never comes back out.

Every redirect is refused (requests would re-post the body, token included, to the
Location's host on 307/308), and a site echoing the token in any part of an answer
(errorcode, message, debuginfo, warnings) cannot get it printed, logged, saved or
written to a report. A site URL carrying a token is refused at validate.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from hostile_http import ENDPOINT, Answer, self_signed, serve

from plutoctl.cli import main
from plutoctl.errors import RedirectRefusedError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_LAB"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [ann, bob]
"""


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=url, var=TOKEN_VAR), encoding="utf-8")
    return path


def client_for(url: str, token: str) -> SiteClient:
    return SiteClient("lab", url, token, retry=RetryPolicy(attempts=2, backoff=0))


def redirect_to(target: str, status: int) -> Answer:
    return Answer(status, b"", (("Location", f"{target}{ENDPOINT}?moved=1"),))


def texts_of(error: BaseException) -> str:
    parts = [str(error), repr(error), getattr(error, "hint", "") or ""]
    return "\n".join(parts)


@pytest.fixture
def lab(sandbox: Sandbox) -> Sandbox:
    for name in ("ann", "bob", "cat"):
        sandbox.store.add_user(name, firstname=name, lastname="L")
    sandbox.store.add_cohort("team-a", "Team A")
    return sandbox


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_refused_and_nothing_reaches_it(
    lab: Sandbox, status: int
) -> None:
    with serve(host="localhost") as elsewhere, serve(lab.url) as proxy:
        client = client_for(proxy.url, lab.token)
        assert client.call("core_cohort_get_cohorts", retry_safe=True)  # the proxy works
        proxy.script("*", lambda _form: redirect_to(elsewhere.url, status))
        with pytest.raises(RedirectRefusedError) as caught:
            client.call("core_cohort_get_cohorts", retry_safe=True)
        client.close()
        assert elsewhere.received == []
    text = texts_of(caught.value)
    assert f"HTTP {status}" in text
    assert elsewhere.url in text  # the target host, named
    assert "moved=1" not in text  # but not the rest of the Location
    assert "final URL" in (caught.value.hint or "")
    assert lab.token not in text


def test_a_redirect_from_https_down_to_http_is_refused(
    lab: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, ca_file = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    with serve() as plain, serve(lab.url, tls=context) as secure:
        client = client_for(secure.url, lab.token)
        assert client.site_info().functions  # TLS to the proxy works
        secure.script("*", lambda _form: redirect_to(plain.url, 307))
        with pytest.raises(RedirectRefusedError) as caught:
            client.call("core_cohort_get_cohorts", retry_safe=True)
        client.close()
        assert plain.received == []
    assert plain.url in str(caught.value)
    assert lab.token not in texts_of(caught.value)


def test_plan_through_a_redirecting_site_exits_1_with_the_hint(
    lab: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    with serve() as elsewhere, serve(lab.url) as proxy:
        proxy.script("*", lambda _form: redirect_to(elsewhere.url, 308))
        code = main(["plan", "-c", str(write_config(tmp_path, proxy.url))])
        assert elsewhere.received == []
    out, err = capsys.readouterr()
    assert code == 1
    assert "HTTP 308" in out + err
    assert "final URL" in out + err
    assert lab.token not in out + err


def test_a_redirected_write_is_sent_once_not_split_to_find_a_bad_item(
    lab: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redirect says nothing of any one item: a 2-member add was sent 3 times."""
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    with serve(host="localhost") as elsewhere, serve(lab.url) as proxy:
        adds = "core_cohort_add_cohort_members"
        proxy.script(adds, lambda _form: redirect_to(elsewhere.url, 307))
        code = main(["apply", "-c", str(write_config(tmp_path, proxy.url)), "--auto-approve"])
        sent = [r for r in proxy.received if f"wsfunction={adds}" in r.body.decode()]
        assert elsewhere.received == []
    assert code == 4
    assert len(sent) == 1
    assert lab.store.cohort_members("team-a") == set()


def echo_error(token: str) -> Answer:
    return Answer.json(
        {
            "exception": "moodle_exception",
            "errorcode": token,
            "message": f"invalid value {token}",
            "debuginfo": f"SELECT * WHERE token = '{token}'",
        }
    )


def echo_warnings(token: str, form: dict[str, str]) -> Answer:
    kind = form["members[0][cohorttype][type]"]
    value = form["members[0][cohorttype][value]"]
    return Answer.json(
        {
            "warnings": [
                # attributed to the item: it fails, and its message is reported
                {
                    "item": "cohort",
                    "warningcode": token,
                    "message": f"cohort {kind}={value} not exists ({token})",
                },
                # attributed to nothing: logged
                {"item": token, "warningcode": token, "message": f"odd {token}"},
            ]
        }
    )


def run_logged(argv: list[str], caplog: pytest.LogCaptureFixture) -> int:
    caplog.set_level(logging.DEBUG)
    return main(argv)


def assert_no_token(token: str, *texts: str) -> None:
    leaks = [text for text in texts if token in text]
    assert leaks == []


@pytest.mark.parametrize("function", ["core_cohort_get_cohorts", "core_user_get_users_by_field"])
def test_a_token_echoed_in_an_error_answer_is_never_shown_logged_or_saved(
    lab: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    function: str,
) -> None:
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    saved = tmp_path / "plan.json"
    with serve(lab.url) as proxy:
        proxy.script(function, lambda _form: echo_error(lab.token))
        config = write_config(tmp_path, proxy.url)
        code = run_logged(["plan", "-c", str(config), "--out", str(saved)], caplog)
        assert function in [json_function(r) for r in proxy.received]
    out, err = capsys.readouterr()
    assert code == 1
    assert "[token]" in out + err  # the echo was there, and was redacted
    saved_text = saved.read_text(encoding="utf-8") if saved.exists() else ""
    assert_no_token(lab.token, out, err, caplog.text, saved_text)


def json_function(received: object) -> str:
    from urllib.parse import parse_qs

    body = getattr(received, "body", b"").decode()
    return parse_qs(body).get("wsfunction", [""])[0]


def escaped(answer: Answer, token: str) -> Answer:
    """The answer with the token written as JSON escapes (\\u0036\\u0039…): the same text."""
    json_escaped = "".join(f"\\u{ord(c):04x}" for c in token).encode()
    return replace(answer, body=answer.body.replace(token.encode(), json_escaped))


@pytest.mark.parametrize("as_escapes", [False, True], ids=["plain", "as JSON escapes"])
def test_a_token_echoed_in_warnings_stays_out_of_output_report_and_logs(
    lab: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    as_escapes: bool,
) -> None:
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    report = tmp_path / "apply.json"

    def answer(form: dict[str, str]) -> Answer:
        echoed = echo_warnings(lab.token, form)
        return escaped(echoed, lab.token) if as_escapes else echoed

    with serve(lab.url) as proxy:
        proxy.script("core_cohort_add_cohort_members", answer)
        config = write_config(tmp_path, proxy.url)
        argv = ["apply", "-c", str(config), "--auto-approve", "--report", str(report)]
        code = run_logged(argv, caplog)
    out, err = capsys.readouterr()
    assert code == 4  # the warned items failed
    report_text = report.read_text(encoding="utf-8")
    assert "[token]" in report_text + out + err
    assert "[token]" in caplog.text  # the unattributed warning, logged redacted
    assert_no_token(lab.token, out, err, caplog.text, report_text)
    # Without the hostile proxy the next apply finishes, and then nothing is left.
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    direct = write_config(tmp_path, lab.url)
    assert main(["apply", "-c", str(direct), "--auto-approve"]) == 0
    assert main(["plan", "-c", str(direct), "--detailed-exitcode"]) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://lms.example.org/?wstoken=abc",
        "https://lms.example.org/?WSTOKEN=abc",
        "https://lms.example.org/;wstoken=abc",
        "https://lms.example.org/x;WsToken=abc",
        "https://lms.example.org/#wstoken=abc",
        "https://lms.example.org/?a=1&%77stoken=abc",
        "http://127.0.0.1:8080/?moodlewsrestformat=json&wstoken=abc",
    ],
)
def test_a_site_url_carrying_a_token_is_refused_at_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    config = write_config(tmp_path, url)
    code = main(["validate", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{config}:4:5: sites.lab.url: the URL must not hold credentials or a token" in err
    assert "abc" not in out + err
