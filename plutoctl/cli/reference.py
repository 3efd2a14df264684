"""Generate the CLI reference (docs/cli.md) from the commands' own ``--help``."""

from __future__ import annotations

import click


def help_text(command: click.Command, path: list[str], root: click.Command | None = None) -> str:
    """Return the ``--help`` text of a command as the user sees it.

    The context carries the root group's settings (``-h`` beside ``--help``), as a
    real run's does; click remembers a command's help option from the first context
    it sees, so a bare context would make the text depend on what ran before.
    """
    settings = {**(root or command).context_settings, "max_content_width": 88}
    ctx = click.Context(command, info_name=" ".join(path), terminal_width=88, **settings)
    return command.get_help(ctx)


def walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    """Return the command and every subcommand below it, depth first, sorted by name."""
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found.extend(walk(command.commands[name], [*path, name]))
    return found


def render_reference(root: click.Group) -> str:
    """Return docs/cli.md: every command's help, in order."""
    parts = [
        "# plutoctl command reference\n",
        "Generated from `--help` as a terminal of 90 columns or more shows it (a narrower "
        "one wraps the same text sooner); a test keeps it current "
        "(regenerate with `PLUTOCTL_REGEN=1 pytest tests/cli/test_cli_reference.py`).\n",
        'Shell completion: add `eval "$(_PLUTOCTL_COMPLETE=bash_source plutoctl)"` to '
        "`~/.bashrc` (zsh: `zsh_source` in `~/.zshrc`; fish: "
        "`_PLUTOCTL_COMPLETE=fish_source plutoctl | source`).\n",
    ]
    for path, command in walk(root, ["plutoctl"]):
        text = help_text(command, path, root).rstrip()
        parts.append(f"## {' '.join(path)}\n\n```\n{text}\n```\n")
    return "\n".join(parts)
