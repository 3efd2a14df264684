"""``PLUTOCTL_RETRY_BACKOFF`` sets the first retry delay of a run (fault drills, tests)."""

from __future__ import annotations

import pytest

from plutoctl.cli import main
from plutoctl.cli.options import RETRY_BACKOFF_VARIABLE, retry_policy
from plutoctl.errors import ExitCode, UsageError
from plutoctl.lms.client import RetryPolicy


def test_unset_keeps_the_default(monkeypatch) -> None:
    monkeypatch.delenv(RETRY_BACKOFF_VARIABLE, raising=False)
    assert retry_policy(RetryPolicy()) == RetryPolicy()


def test_a_number_sets_only_the_first_delay(monkeypatch) -> None:
    monkeypatch.setenv(RETRY_BACKOFF_VARIABLE, "0.01")
    policy = retry_policy(RetryPolicy())
    assert policy == RetryPolicy(attempts=5, backoff=0.01, max_backoff=30.0)
    assert policy.delay(3, None) <= 0.04


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "inf", "31"])
def test_anything_else_is_a_usage_error(monkeypatch, raw: str) -> None:
    monkeypatch.setenv(RETRY_BACKOFF_VARIABLE, raw)
    with pytest.raises(UsageError, match=RETRY_BACKOFF_VARIABLE):
        retry_policy(RetryPolicy())


def test_the_cli_says_what_is_wrong(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv(RETRY_BACKOFF_VARIABLE, "soon")
    config = tmp_path / "segments.yaml"
    config.write_text("version: 1\nsites:\n  lab:\n    url: sandbox:lab.db\n", encoding="utf-8")
    code = main(["plan", "-c", str(config)])
    assert code == ExitCode.USAGE
    assert "PLUTOCTL_RETRY_BACKOFF='soon' is not a number of seconds" in capsys.readouterr().err
