"""The JSON Schema from ``plutoctl schema`` agrees with ``validate`` on a file's shape.

Editors read YAML themselves and check it with a JSON Schema validator: an editor on
YAML 1.1 reads ``visible: yes`` as true, one on YAML 1.2 as the text "yes". Both
readings are checked here with jsonschema (already a test dependency) against what
plutoctl's own loader and models accept, over every valid example and over the
corpus of broken configs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from plutoctl.config.json_schema import config_json_schema
from plutoctl.config.schema import Config
from plutoctl.config.segments_csv_merge import merge_segments_csv
from plutoctl.config.yaml_positions import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((Path(__file__).parent / "bad").glob("*.yaml"))
EXAMPLES = [ROOT / "segments.yaml.example", *sorted((ROOT / "examples").glob("*/segments.yaml"))]
VALIDATOR = jsonschema.Draft202012Validator(config_json_schema())


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's core schema: only true/false are booleans (yes, on, no are text)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
LOADERS = {"yaml-1.1": yaml.SafeLoader, "yaml-1.2": Yaml12Loader}


def as_json(value: Any) -> Any:
    """Return the data as an editor hands it to JSON Schema: object keys are text."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def editor_reads(text: str, loader: str) -> Any:
    return as_json(yaml.load(text, Loader=LOADERS[loader]))


def schema_accepts(data: Any) -> bool:
    return VALIDATOR.is_valid(data)


def models_accept(text: str, base_dir: Path = ROOT) -> bool | None:
    """Return whether plutoctl's models accept the file's shape (None: not YAML).

    Segments that ``segments_csv`` rows declare take their names from the rows first,
    as ``validate`` does; what the rows say is not the file's shape, so problems of
    the merge itself are left to validate's own tests.
    """
    document = parse_yaml(text, "case.yaml")
    if document.problems or not isinstance(document.data, dict):
        return None
    merged = merge_segments_csv(document.data, document.positions, "case.yaml", base_dir)
    try:
        Config.model_validate(merged.data)
    except ValidationError:
        return False
    return True


VALID_BY_VALIDATE = {
    "visible-yes": "segments:\n  s: {name: S, visible: yes}\n",
    "protected-on": "segments:\n  s: {name: S, protected: on}\n",
    "visible-capital-no": "segments:\n  s: {name: S, visible: No}\n",
    "unenrol-no": "segments:\n  s: {name: S}\n"
    "courses:\n  C1:\n    enrol:\n      - {segment: s, unenrol: no}\n",
    "name-2024": "segments:\n  s: {name: 2024}\n",
    "members-numbers": "segments:\n  s: {name: S, members: [12345, 0042]}\n",
    "group-name-number": "segments:\n  s: {name: S}\n"
    "courses:\n  C1:\n    groups:\n      g1: {name: 7, segment: s}\n",
    "rule-value-number": "segments:\n  s:\n    name: S\n"
    "    rules: [{field: year, match: exact, value: 2024}]\n",
    # Sections whose entries are all commented out read as null: empty to validate.
    "empty-sections": "segments:\ncourses:\npolicy:\ndefaults:\nacknowledge:\nsegments_csv:\n",
    "empty-acknowledgements": "acknowledge:\n  removals:\n  deletes:\n",
}
HEADER = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("case", VALID_BY_VALIDATE, ids=list(VALID_BY_VALIDATE))
def test_what_validate_accepts_the_schema_accepts(case: str, loader: str) -> None:
    text = HEADER + VALID_BY_VALIDATE[case]
    assert models_accept(text) is True
    errors = [e.message for e in VALIDATOR.iter_errors(editor_reads(text, loader))]
    assert errors == []


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("example", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_every_example_passes_the_schema(example: Path, loader: str) -> None:
    text = example.read_text(encoding="utf-8")
    assert models_accept(text, example.parent) is True
    errors = [e.message for e in VALIDATOR.iter_errors(editor_reads(text, loader))]
    assert errors == []


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("case", BAD, ids=[p.stem for p in BAD])
def test_the_schema_agrees_with_the_models_on_broken_configs(case: Path, loader: str) -> None:
    text = case.read_text(encoding="utf-8")
    accepted = models_accept(text, case.parent)
    if accepted is None:
        pytest.skip("not a YAML mapping plutoctl reads: no shape to compare")
    assert schema_accepts(editor_reads(text, loader)) == accepted


def test_the_broken_corpus_has_shape_errors_the_schema_catches() -> None:
    rejected = [
        case
        for case in BAD
        if models_accept(case.read_text(encoding="utf-8"), case.parent) is False
        and not schema_accepts(editor_reads(case.read_text(encoding="utf-8"), "yaml-1.2"))
    ]
    assert len(rejected) >= 10
