"""Printing helpers shared by the commands: colour rules and the error printer."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import click

from plutoctl.errors import ConfigError, PlutoError


def use_colour(stream: TextIO) -> bool:
    """Return whether to colour output: only on a terminal, never with NO_COLOR."""
    if "NO_COLOR" in os.environ:
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


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
