"""Placeholder until the command lands."""

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
