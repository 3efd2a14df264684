"""The files a plan is made from, whose digests a saved plan records."""

from __future__ import annotations

import shutil
from pathlib import Path

from plutoctl.config import load_config
from plutoctl.config.inputs import input_digests, input_files

ROOT = Path(__file__).resolve().parents[2]


def test_every_csv_the_config_reads_is_an_input(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    loaded = load_config(tmp_path / "examples" / "bulk-segments" / "segments.yaml")
    files = input_files(loaded)
    assert {"config", "data/departments.csv", "data/cities.csv"} <= set(files)
    before = dict(input_digests(loaded))
    csv = files["data/cities.csv"]
    csv.write_bytes(csv.read_bytes() + b"\n")
    after = dict(input_digests(loaded))
    assert [key for key in before if before[key] != after[key]] == ["data/cities.csv"]
