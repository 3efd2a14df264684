"""Printing helpers shared by the commands: colour rules and the error printer."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import click

from plutoctl.errors import ConfigError, PlutoError


def use_colour(stream: TextIO) -> bool:
    """Return whether to colour output written to ``stream``.

    In order: ``--color`` / ``--no-color``; ``NO_COLOR`` set (https://no-color.org:
    present and not empty) turns colour off; ``FORCE_COLOR`` set and not empty turns
    it on (``0`` or ``false`` off); ``TERM=dumb`` turns it off; otherwise colour only
    on a terminal.
    """
    ctx = click.get_current_context(silent=True)
    choice = ctx.find_root().meta.get(COLOUR_KEY) if ctx is not None else None
    if choice is not None:
        return bool(choice)
    if os.environ.get("NO_COLOR"):
        return False
    forced = os.environ.get("FORCE_COLOR")
    if forced:
        return forced.strip().lower() not in ("0", "false", "no")
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


COLOUR_KEY = "plutoctl.colour"
"""Where the root context keeps --color (True) / --no-color (False)."""


def print_error(exc: PlutoError) -> None:
    """Print a PlutoError to stderr as ``error: …`` (every problem for a ConfigError)."""
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            click.echo(problem.render(), err=True)
        click.echo(f"error: {exc.message}", err=True)
    else:
        click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)


def progress(message: str) -> None:
    """Write a progress or diagnostic line to stderr."""
    click.echo(message, err=True)
    sys.stderr.flush()
