"""``plutoctl validate`` and ``plutoctl schema``: the two offline commands."""

from __future__ import annotations

import json

import click

from plutoctl.config import load_config
from plutoctl.config.json_schema import config_json_schema
from plutoctl.config.loaded import LoadedConfig

__all__ = ["config_json_schema", "register"]


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
    cli.add_command(validate)
    cli.add_command(schema)


@click.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    default="segments.yaml",
    show_default=True,
    metavar="FILE",
    help="The config file.",
)
def validate(config_path: str) -> None:
    """Check the config file and its CSV files, offline.

    Reports every problem at once as file:line:col: message, sorted by file and
    line, and exits 1; warnings are printed but do not fail. Needs no tokens.

    Example: plutoctl validate -c segments.yaml
    """
    loaded = load_config(config_path)
    for warning in loaded.warnings:
        click.echo(warning.render(), err=True)
    click.echo(summary(loaded, config_path))


def summary(loaded: LoadedConfig, shown_path: str) -> str:
    """Return ``OK: 3 segments, 1 course, 2 sites (segments.yaml)``."""
    config = loaded.config
    counts = [
        _count(len(config.segments), "segment"),
        _count(len(config.courses), "course"),
        _count(len(config.sites), "site"),
    ]
    return f"OK: {', '.join(counts)} ({shown_path})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@click.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    default=None,
    metavar="FILE",
    help="Accepted like every command's; the schema does not depend on it.",
)
def schema(config_path: str | None) -> None:
    """Print the JSON Schema of the config file, for editors.

    Example: plutoctl schema > plutoctl.schema.json
    """
    del config_path
    click.echo(json.dumps(config_json_schema(), indent=2, ensure_ascii=False))
