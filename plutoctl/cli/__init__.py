"""The plutoctl command line: a thin click layer over the library.

``main`` is the one error boundary: it turns a ``PlutoError`` into ``error: …`` on
stderr and its exit code, Ctrl-C into exit 130, and any other exception into a short
bug report with exit 70; tracebacks only with ``--debug``. The global flags
``--debug``, ``--color`` and ``--no-color`` may also follow the subcommand
(``plutoctl plan --debug``): ``main`` moves them in front of it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, NoReturn

import click

from plutoctl import __version__
from plutoctl.cli import program
from plutoctl.cli.output import COLOUR_KEY, print_error
from plutoctl.errors import ExitCode, PlutoError

GLOBAL_FLAGS = ("--debug", "--color", "--no-color")
"""Flags of the root group that may stand anywhere before a ``--``."""

COMMAND_MODULES = {
    "apply": "apply_cmd",
    "explain": "explain_cmd",
    "export": "export_cmd",
    "plan": "plan_cmd",
    "sandbox": "sandbox_cmd",
    "schema": "validate_cmd",
    "sites": "sites_cmd",
    "validate": "validate_cmd",
}
"""Each command and the module in ``plutoctl.cli`` that defines (and registers) it."""


class CommandsOnDemand(click.Group):
    """The root group: a command's module is imported when that command is asked for.

    ``plutoctl --version`` then starts in a fraction of the time, and ``validate`` does
    not load the web-service client. ``commands`` (every command, as on any group)
    imports them all.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._registered: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        for name in COMMAND_MODULES:
            self._register(name)
        return self._registered

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._registered = dict(value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self._registered[name or cmd.name or ""] = cmd

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self._registered))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._register(cmd_name)
        return self._registered.get(cmd_name)

    def _register(self, name: str) -> None:
        module = COMMAND_MODULES.get(name)
        if module is not None and name not in self._registered:
            importlib.import_module(f"plutoctl.cli.{module}").register(self)


@click.group(
    cls=CommandsOnDemand,
    # Text 88 columns wide (90 less the margin), as docs/cli.md is written: a terminal
    # of 90 columns or more shows the same text.
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 90},
)
@click.version_option(__version__, prog_name="plutoctl")
@click.option(
    "--debug", is_flag=True, help="Show tracebacks and debug logging (also after the command)."
)
@click.option(
    "--color/--no-color",
    "colour",
    default=None,
    help="Colour the output or not [default: on a terminal, unless NO_COLOR is set or "
    "TERM=dumb; FORCE_COLOR forces it].",
)
@click.pass_context
def cli(ctx: click.Context, *, debug: bool, colour: bool | None) -> None:
    """Pluto LMS user segments, course groups and enrolment as code.

    Declare segments, their members and course-group bindings in YAML; `plan`
    shows the changes a site needs, `apply` makes them.

    Exit codes (every command): 0 success, 1 error, 2 changes (plan
    --detailed-exitcode), 3 refused as unsafe, 4 apply partly failed, 64 usage
    error, 70 a bug in plutoctl (run again with --debug), 130 interrupted (Ctrl-C).
    """
    ctx.obj = {"debug": debug}
    ctx.meta[COLOUR_KEY] = colour
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def hoist_global_flags(args: list[str]) -> list[str]:
    """Return ``args`` with --debug/--color/--no-color moved before the subcommand."""
    end = args.index("--") if "--" in args else len(args)
    hoisted = [a for a in args[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
    return [*hoisted, *rest, *args[end:]]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (the error boundary).

    Every exception ends here: a PlutoError as ``error: …`` with its exit code, Ctrl-C
    as exit 130 wherever it lands, and anything else as a short bug report (exit 70),
    with a traceback only under ``--debug``.
    """
    args = hoist_global_flags(list(argv if argv is not None else sys.argv[1:]))
    debug = "--debug" in args
    try:
        return _run(args, debug=debug)
    except KeyboardInterrupt:  # a Ctrl-C while an error was being reported
        return _interrupted()
    except PlutoError:
        raise  # re-raised by _run under --debug only: its traceback was asked for
    except Exception as exc:  # the boundary: nothing unexpected escapes as a traceback
        return report_bug(exc, debug=debug)


def run() -> NoReturn:
    """The ``plutoctl`` program: run ``main``, then exit without freeing the heap.

    A plan holds every user and membership of its sites; freeing them one by one at
    exit takes a noticeable part of a second on a large site, and nothing is left to
    do once ``main`` returned: every file it wrote is closed, and the calls a Ctrl-C
    let finish have finished. So the output is flushed and the process ends at once
    (``plutoctl.cli.program``); after a second Ctrl-C that means without waiting for
    the calls still in flight, which the next apply finishes as any interrupted one.
    """
    program.end_after_main()
    program.stop_on_terminate()
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (``plutoctl plan | head``) refuses the rest: nothing to lose now.
        with contextlib.suppress(OSError):
            stream.flush()
    os._exit(code)


def _run(args: list[str], *, debug: bool) -> int:
    try:
        result = cli.main(args=args, prog_name="plutoctl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort as exc:
        # click turns a Ctrl-C (also one at a prompt) into Abort; an EOF at a prompt too.
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            return _interrupted()
        click.echo("Aborted.", err=True)
        return ExitCode.ERROR
    except click.UsageError as exc:
        exc.show()
        return ExitCode.USAGE
    except click.ClickException as exc:
        exc.show()
        return ExitCode.ERROR
    except PlutoError as exc:
        if debug:
            raise
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    return int(result or 0)


def _interrupted() -> int:
    click.echo("Interrupted.", err=True)
    return ExitCode.INTERRUPTED


def report_bug(exc: BaseException, *, debug: bool) -> int:
    """Report an unexpected exception in a few lines (a traceback only with --debug).

    The exception's own text is not shown without --debug: it was not written for
    users, and nothing guarantees what it quotes.
    """
    if debug:
        traceback.print_exception(exc)
    where = _innermost_frame(exc)
    click.echo(
        f"error: plutoctl failed unexpectedly ({type(exc).__name__}{where}); "
        "this is a bug in plutoctl, not in your config or site",
        err=True,
    )
    click.echo(
        "  hint: run the same command again with --debug (plutoctl --debug COMMAND …) to "
        "see the details, and report them",
        err=True,
    )
    return ExitCode.BUG


def _innermost_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" in {last.name}, {Path(last.filename).name}:{last.lineno}"
