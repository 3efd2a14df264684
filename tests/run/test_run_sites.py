"""run_sites: the calling thread's work meanwhile, while the sites are read."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from plutoctl.config.loaded import LoadedConfig
from plutoctl.config.schema import Config
from plutoctl.lms.client import SiteClient
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.run.connect import Connection
from plutoctl.run.sites import SiteRun, run_sites
from plutoctl.sandbox import Sandbox


def two_sites(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    monkeypatch.setenv("PLUTO_TOKEN_TEST", sandbox.token)
    site = {"url": sandbox.url, "token": "${PLUTO_TOKEN_TEST}"}
    config = {"version": 1, "sites": {"one": site, "two": dict(site)}, "segments": {}}
    return LoadedConfig(config=Config.model_validate(config), path=Path("segments.yaml"))


def test_meanwhile_runs_on_the_calling_thread_while_the_sites_are_read(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = two_sites(sandbox, monkeypatch)
    reading = threading.Barrier(3, timeout=10)  # both sites' tasks and the calling thread
    seen: list[str] = []

    def task(client: SiteClient, name: str) -> SiteRun:
        client.site_info()
        reading.wait()  # the task is still running when meanwhile runs
        return SiteRun(plan=SitePlan(site=name))

    def meanwhile() -> None:
        seen.append(threading.current_thread().name)
        reading.wait()

    runs = run_sites(loaded, ["one", "two"], Connection(), task, meanwhile=meanwhile)
    assert seen == [threading.current_thread().name]
    assert sorted(runs) == ["one", "two"]
    assert all(run.error is None for run in runs.values())


def test_a_ctrl_c_meanwhile_winds_the_tasks_down_as_one_while_waiting(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = two_sites(sandbox, monkeypatch)
    stop = threading.Event()

    def task(client: SiteClient, name: str) -> SiteRun:
        assert stop.wait(timeout=10)  # runs until told to stop
        return SiteRun(plan=SitePlan(site=name))

    def meanwhile() -> None:
        raise KeyboardInterrupt

    runs = run_sites(loaded, ["one", "two"], Connection(), task, stop=stop, meanwhile=meanwhile)
    assert stop.is_set()
    assert sorted(runs) == ["one", "two"]
