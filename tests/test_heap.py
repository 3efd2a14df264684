"""The collector's pause (plutoctl.heap): where it holds, and that it ends."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from plutoctl.config import load_config
from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.errors import ConfigError
from plutoctl.heap import rare_collection
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.plan.changes.plans import Notice, Plan, SitePlan
from plutoctl.plan.saved import load_plan, save_plan
from plutoctl.sandbox import FieldSpec, Sandbox, generate


@pytest.fixture
def collections_started() -> Iterator[list[int]]:
    """The generation of each collection the collector starts while the test runs."""
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


def large_config(directory: Path, members: int = 5_000) -> Path:
    """A config whose loading makes far more objects than a young generation holds."""
    names = ", ".join(f"user{i:05d}" for i in range(members))
    rows = "\n".join(f"user{i:05d},team-b" for i in range(members))
    (directory / "team-b.csv").write_text(f"username,cohort1\n{rows}\n")
    path = directory / "segments.yaml"
    path.write_text(
        "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\nsegments:\n"
        f"  team-a: {{name: A, members: [{names}]}}\n"
        "  team-b: {name: B, members_csv: team-b.csv}\n"
    )
    return path


def test_loading_a_config_starts_no_collection_and_leaves_the_collector_on(
    tmp_path: Path, collections_started: list[int]
) -> None:
    path = large_config(tmp_path)
    gc.collect()
    collections_started.clear()
    assert gc.isenabled()
    loaded = load_config(path)
    assert collections_started == []
    assert gc.isenabled()
    assert len(loaded.config.segments["team-a"].members) == 5_000
    assert len(loaded.csv_members["team-b"]) == 5_000

    # The same parsing outside ``load_config`` starts collections: the assertion above
    # is about the pause, not about a config too small to need one.
    gc.collect()
    collections_started.clear()
    parse_yaml(path.read_text(), str(path))
    assert collections_started


def test_loading_a_saved_plan_starts_no_collection(
    tmp_path: Path, collections_started: list[int]
) -> None:
    notices = tuple(Notice("warning", f"notice {i}") for i in range(5_000))
    plan = Plan(sites=(SitePlan("demo", notices=notices),))
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    gc.collect()
    collections_started.clear()
    assert load_plan(path) == plan
    assert collections_started == []
    assert gc.isenabled()

    json.loads(path.read_text(encoding="utf-8"))  # outside load_plan: collections start
    assert collections_started


def test_reading_a_site_starts_no_collection(collections_started: list[int]) -> None:
    # Every command that reads a site (plan, apply, explain, export) reads it paused.
    scope = ReadScope(needs_all_users=True, needs_custom_fields=True)
    with Sandbox.start() as site:
        generate(site.store, users=2_500, courses=0, fields=[FieldSpec("region", "text")])
        with SiteClient("lab", site.url, site.token, retry=RetryPolicy(attempts=1)) as client:
            gc.collect()
            collections_started.clear()
            existing = read_site(client, scope)
            assert collections_started == []
            assert gc.isenabled()
            assert len(existing.users) == site.store.user_count() - 1  # the guest is not kept

            read_site.__wrapped__(client, scope)  # type: ignore[attr-defined]
            assert collections_started  # the same read, not paused: collections start


def test_a_config_refused_leaves_the_collector_on(tmp_path: Path) -> None:
    path = tmp_path / "segments.yaml"
    path.write_text("version: 1\nsegments: [oops\n")
    with pytest.raises(ConfigError):
        load_config(path)
    assert gc.isenabled()


def test_inside_a_pause_loading_keeps_the_collector_paused(tmp_path: Path) -> None:
    path = large_config(tmp_path, members=10)
    with rare_collection():
        load_config(path)
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_restores_what_it_found() -> None:
    gc.disable()
    try:
        with rare_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: the pause does not turn it on
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), rare_collection():
        raise RuntimeError("a failure inside the block")
    assert gc.isenabled()
