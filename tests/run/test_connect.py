"""open_site takes a Connection: its timeout, retry policy and parallelism reach the client."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config.loaded import LoadedConfig
from plutoctl.config.schema import Config
from plutoctl.errors import TransportError
from plutoctl.lms.client import RetryPolicy
from plutoctl.run.connect import Connection, open_site
from plutoctl.sandbox import Sandbox


def remote(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    monkeypatch.setenv("PLUTO_TOKEN_TEST", sandbox.token)
    config = {
        "version": 1,
        "sites": {"primary": {"url": sandbox.url, "token": "${PLUTO_TOKEN_TEST}"}},
        "segments": {},
    }
    return LoadedConfig(config=Config.model_validate(config), path=Path("segments.yaml"))


def test_the_connection_reaches_the_client(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = RetryPolicy(attempts=2, backoff=0.0)
    connection = Connection(timeout=7.0, retry=policy, parallelism=5)
    with open_site("primary", remote(sandbox, monkeypatch), connection) as client:
        assert client.retry is policy
        assert client.timeout[1] == 7.0
        assert client.parallelism == 5
        assert client.site_info().functions


@pytest.mark.parametrize(("attempts", "is_answered"), [(1, False), (2, True)])
def test_the_retry_policy_decides_whether_a_failed_call_is_repeated(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, attempts: int, *, is_answered: bool
) -> None:
    sandbox.faults.inject("status", status=503, times=1)
    connection = Connection(retry=RetryPolicy(attempts=attempts, backoff=0.0))
    with open_site("primary", remote(sandbox, monkeypatch), connection) as client:
        if is_answered:
            assert client.site_info().functions
        else:
            with pytest.raises(TransportError):
                client.site_info()
