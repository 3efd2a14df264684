"""A failed user lookup is reported as what happened, never as "unknown user"."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_http import Answer, serve

from plutoctl.cli import main
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_LOOKUP"

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

HTML = b"<html><body><h1>Site under maintenance</h1></body></html>"


def test_a_user_lookup_answered_with_html_is_not_called_unknown(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("ann", "bob"):
        sandbox.store.add_user(name, firstname=name, lastname="L")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    with serve(sandbox.url) as proxy:
        config.write_text(CONFIG.format(url=proxy.url, var=TOKEN_VAR), encoding="utf-8")
        page = Answer(200, HTML, (("Content-Type", "text/html"),))
        proxy.script("core_user_get_users_by_field", lambda _form: page)
        code = main(["plan", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "unknown user" not in out + err
    assert "user 'ann' could not be looked up on site 'lab'" in out + err
    assert "the answer is not JSON; it begins '<html>" in out + err
    # With the site answering properly again, the same users are found.
    config.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR), encoding="utf-8")
    assert main(["apply", "-c", str(config), "--auto-approve"]) == 0
    assert main(["plan", "-c", str(config), "--detailed-exitcode"]) == 0
