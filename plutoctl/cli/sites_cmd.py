"""``plutoctl sites``: list the config's sites, e.g. as a CI matrix (one job per site)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from plutoctl.cli.options import config_option, load


@click.command("sites", short_help="List the config's sites (JSON for a CI matrix).")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one name a line; json: a JSON array of names on one line.",
)
def sites_command(config_path: Path, fmt: str) -> None:
    """List the sites the config declares, in config order; reads no site.

    With --format json the output is one line, a JSON array, ready for a CI
    matrix: GitHub Actions `fromJSON(...)`, or a generated GitLab child pipeline.
    Each job then runs `plutoctl plan --site NAME` / `plutoctl apply PLAN --site NAME`.

    Example:

        echo "sites=$(plutoctl sites -c segments.yaml --format json)" >> "$GITHUB_OUTPUT"
    """
    names = list(load(config_path).config.sites)
    if fmt == "json":
        click.echo(json.dumps(names, ensure_ascii=False))
    else:
        for name in names:
            click.echo(name)


def register(cli: click.Group) -> None:
    """Add ``sites`` to the CLI."""
    cli.add_command(sites_command)
