"""Options shared by several commands, as reusable decorators."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from plutoctl.config import LoadedConfig
from plutoctl.errors import PlutoError, UsageError

if TYPE_CHECKING:
    from plutoctl.config.schema import Config
    from plutoctl.lms.retry import RetryPolicy
    from plutoctl.plan.changes.plans import Plan
    from plutoctl.run.connect import Connection
    from plutoctl.run.plan import RunOptions

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_CONFIG = "segments.yaml"


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses ``nan`` and ``inf``, which every range check lets
    through (comparisons with nan are false) and which no wait or rate can mean."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def config_option(fn: F) -> F:
    """Add ``-c/--config``."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        default=DEFAULT_CONFIG,
        show_default=True,
        # A plain path: the loader says what is wrong with it (missing, a directory,
        # unreadable) as validate does, exit 1, with the same words in every command.
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="The config file.",
    )(fn)


def _completion_config(ctx: click.Context) -> Config | None:
    """Return the config named on the command line so far (quietly), for completion."""
    from plutoctl.config import load_config

    path = ctx.params.get("config_path") or Path(DEFAULT_CONFIG)
    try:
        return load_config(path).config
    except PlutoError:
        return None


def complete_sites(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Offer the config's site names."""
    config = _completion_config(ctx)
    return [s for s in (config.sites if config else ()) if s.startswith(incomplete)]


def complete_ids(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Offer the config's segment IDs and course short names."""
    config = _completion_config(ctx)
    if config is None:
        return []
    return [i for i in [*config.segments, *config.courses] if i.startswith(incomplete)]


def complete_ids_of_segments(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[str]:
    """Offer the config's segment IDs (``--allow-move``)."""
    config = _completion_config(ctx)
    return [i for i in config.segments if i.startswith(incomplete)] if config else []


def complete_removable(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Offer what ``--allow-removals`` names: segment IDs, COURSE/GROUP, course short names."""
    return _acknowledgeable(ctx, incomplete, courses=True)


def complete_deletable(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Offer what ``--allow-delete`` names: segment IDs and COURSE/GROUP."""
    return _acknowledgeable(ctx, incomplete, courses=False)


def _acknowledgeable(ctx: click.Context, incomplete: str, *, courses: bool) -> list[str]:
    config = _completion_config(ctx)
    if config is None:
        return []
    groups = [f"{name}/{g}" for name, course in config.courses.items() for g in course.groups]
    names = [*config.segments, *groups, *(config.courses if courses else ())]
    return [name for name in names if name.startswith(incomplete)]


def selection_options(fn: F) -> F:
    """Add ``--site``, ``--only`` and ``--except``."""
    fn = click.option(
        "--except",
        "excluded",
        multiple=True,
        metavar="ID",
        shell_complete=complete_ids,
        help="Leave out this segment ID or course short name (repeatable).",
    )(fn)
    fn = click.option(
        "--only",
        multiple=True,
        metavar="ID",
        shell_complete=complete_ids,
        help="Only this segment ID or course short name (repeatable).",
    )(fn)
    return site_option(fn)


def site_option(fn: F) -> F:
    """Add ``--site NAME`` (repeatable), completed from the config's sites."""
    return click.option(
        "--site",
        "sites",
        multiple=True,
        metavar="NAME",
        shell_complete=complete_sites,
        help="Only this site (repeatable).",
    )(fn)


def safety_options(fn: F) -> F:
    """Add ``--allow-removals``, ``--allow-delete``, ``--allow-move``, ``--no-acknowledgements``."""
    fn = click.option(
        "--no-acknowledgements",
        "no_acknowledgements",
        is_flag=True,
        help="Ignore the config's acknowledge: section (scheduled drift checks use this).",
    )(fn)
    fn = click.option(
        "--allow-move",
        multiple=True,
        metavar="ID",
        shell_complete=complete_ids_of_segments,
        help="Allow updating exactly this segment although it lives in a course category, "
        "which moves it to the system context.",
    )(fn)
    fn = click.option(
        "--allow-delete",
        multiple=True,
        metavar="ID",
        shell_complete=complete_deletable,
        help="Allow deleting (or creating, if protected) exactly this segment or COURSE/GROUP.",
    )(fn)
    return click.option(
        "--allow-removals",
        multiple=True,
        metavar="ID",
        shell_complete=complete_removable,
        help="Allow removals beyond policy.max_removals from exactly this segment, "
        "COURSE/GROUP, or course (its unenrolments).",
    )(fn)


def connection_options(fn: F) -> F:
    """Add ``--parallelism`` and ``--timeout``."""
    fn = click.option(
        "--timeout",
        default=120.0,
        show_default=True,
        type=FiniteFloatRange(min=1),
        help="Seconds one web-service call may take, its answer included.",
    )(fn)
    return click.option(
        "--parallelism",
        default=3,
        show_default=True,
        type=click.IntRange(1, 16),
        help="Web-service calls in flight per site.",
    )(fn)


RUN_FLAGS = (
    "sites",
    "only",
    "excluded",
    "allow_removals",
    "allow_delete",
    "allow_move",
    "no_acknowledgements",
    "parallelism",
    "timeout",
)


def run_flags(fn: F) -> F:
    """Add --site/--only/--except, --allow-*, --parallelism and --timeout as ``options``.

    The command receives one ``options: RunOptions`` instead of seven parameters.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["options"] = run_options(**{name: kwargs.pop(name) for name in RUN_FLAGS})
        return fn(*args, **kwargs)

    return selection_options(safety_options(connection_options(cast(F, wrapper))))


def load(config_path: Path) -> LoadedConfig:
    """Load the config, saying clearly when the file is not there."""
    if not config_path.exists() and not config_path.is_symlink():  # a link: load_config says
        raise PlutoError(
            f"config file not found: {config_path}",
            hint="pass -c/--config FILE, or run in the directory that holds segments.yaml",
        )
    from plutoctl.config import load_config

    loaded = load_config(config_path)
    for warning in loaded.warnings:
        click.echo(warning.render(), err=True)
    return loaded


def warn_unused_acknowledgements(plan: Plan, options: RunOptions) -> None:
    """Warn about ``--allow-*`` flags that match nothing (a typo stays refused)."""
    from plutoctl.plan.acknowledge import unused_acknowledgements

    if plan.has_errors:
        return  # a site stopped by its errors planned nothing a flag could match
    for flag in unused_acknowledgements(options.acks, plan):
        click.echo(f"warning: {flag} matches no change in this plan", err=True)


def run_options(
    *,
    sites: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
    excluded: tuple[str, ...] = (),
    allow_removals: tuple[str, ...] = (),
    allow_delete: tuple[str, ...] = (),
    allow_move: tuple[str, ...] = (),
    no_acknowledgements: bool = False,
    parallelism: int = 3,
    timeout: float = 120.0,
) -> RunOptions:
    """Build RunOptions from the shared command-line options."""
    # Imported here so that offline commands (validate, schema) never load the client.
    from plutoctl.plan.safety import Acknowledgements
    from plutoctl.plan.scope import Selection
    from plutoctl.run.plan import RunOptions

    return RunOptions(
        selection=Selection(sites=sites, only=frozenset(only), excluded=frozenset(excluded)),
        acks=Acknowledgements(
            removals=frozenset(allow_removals),
            deletes=frozenset(allow_delete),
            moves=frozenset(allow_move),
        ),
        config_acks=not no_acknowledgements,
        connection=connection(parallelism=parallelism, timeout=timeout),
    )


def connection(*, parallelism: int, timeout: float) -> Connection:
    """Build the Connection from ``--parallelism`` and ``--timeout`` (and the retry knob)."""
    from plutoctl.lms.retry import RetryPolicy
    from plutoctl.run.connect import Connection

    return Connection(timeout=timeout, retry=retry_policy(RetryPolicy()), parallelism=parallelism)


RETRY_BACKOFF_VARIABLE = "PLUTOCTL_RETRY_BACKOFF"
"""Seconds of the first retry delay (default 0.5): fault-injection tests set it small."""


def retry_policy(default: RetryPolicy) -> RetryPolicy:
    """Return ``default`` with its first back-off from ``$PLUTOCTL_RETRY_BACKOFF``, if set.

    A narrow knob for tests and fault drills that run ``plutoctl`` as a process: the
    number of attempts and the ceiling stay as they are.
    """
    raw = os.environ.get(RETRY_BACKOFF_VARIABLE, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or not 0 <= seconds <= default.max_backoff:
        raise UsageError(
            f"{RETRY_BACKOFF_VARIABLE}={raw!r} is not a number of seconds",
            hint=f"set it between 0 and {default.max_backoff:g}, or unset it",
        )
    return dataclasses.replace(default, backoff=seconds)


def _inputs(loaded: LoadedConfig) -> set[Path]:
    """Return the files a config reads: itself, its CSVs, seeds, sandbox databases."""
    config = loaded.config
    relatives = [s.members_csv for s in config.segments.values() if s.members_csv]
    relatives += config.segments_csv
    relatives += [site.seed for site in config.sites.values() if site.seed]
    relatives += [
        site.url.removeprefix("sandbox:") for site in config.sites.values() if site.is_sandbox
    ]
    return {_real(loaded.path), *(loaded.resolve(r) for r in relatives)}


def _real(path: Path) -> Path:
    # os.path.realpath, not Path.resolve: a symbolic link loop is then a path that
    # cannot be written, not a RuntimeError.
    return Path(os.path.realpath(path))


def refuse_overwriting_inputs(
    loaded: LoadedConfig, paths: list[Path], *, what: str, also_read: Iterable[Path] = ()
) -> None:
    """Refuse (before anything is written) to write over a file the config reads, or
    over ``also_read`` (a saved plan being applied)."""
    for reads, which in ((_inputs(loaded), "this config reads"), (also_read, "is being applied")):
        real = {_real(p) for p in reads}
        clash = sorted(str(p) for p in paths if _real(p) in real)
        if clash:
            raise PlutoError(
                f"{what} would overwrite {', '.join(clash)}, which {which}; nothing was written",
                hint="name a new file for it",
            )


def check_writable(path: Path, *, what: str, nothing: str) -> None:
    """Refuse a file to write that cannot be written, before the sites are read: its
    folder cannot be made, or it is a directory, or it may not be written. ``nothing``:
    what was not done then (``applied``, ``read``)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = exc.strerror or str(exc)
    else:
        if path.is_dir():
            problem = "it is a directory"
        else:
            writable = os.access(path if path.exists() else folder, os.W_OK)
            problem = "" if writable else "permission denied"
    if problem:
        raise PlutoError(
            f"{what} {path} cannot be written ({problem}); nothing was {nothing}",
            hint="name a file in a folder you can write to",
        )
