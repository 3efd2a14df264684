"""``plutoctl sandbox``: run the embedded sandbox LMS, or fill its database."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click

from plutoctl.cli.options import FiniteFloatRange, config_option, load
from plutoctl.errors import PlutoError, SandboxError, UsageError

GENERATE_KEYS = ("users", "courses", "cohorts", "members", "enrolments")


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
    cli.add_command(sandbox)


@click.group()
def sandbox() -> None:
    """Run the sandbox LMS, a local Moodle web-service site in SQLite.

    \b
    Example:
      plutoctl sandbox serve --db .plutoctl/demo.db --seed examples/demo/users.csv
      plutoctl sandbox reset -c segments.yaml.example
    """


@sandbox.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file (created if missing).  [default: in memory]",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Bulk-upload-users CSV loaded when the database is new.",
)
@click.option(
    "--max-input-vars",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="PHP max_input_vars: request variables past it are dropped.",
)
@click.option(
    "--latency",
    type=FiniteFloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds added to every call.",
)
@click.option(
    "--fail-rate",
    type=FiniteFloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of calls answered HTTP 503 with Retry-After: 1.",
)
@click.option(
    "--cost-model",
    type=click.Choice(["none", "moodle"]),
    default="none",
    show_default=True,
    envvar="PLUTOCTL_SANDBOX_COST_MODEL",
    help="Answer each call as slowly as a real Moodle would (moodle: the measured "
    "costs of docs/lms.md, 2-4 calls in flight at best). Also set by "
    "PLUTOCTL_SANDBOX_COST_MODEL, which `sandbox:` URLs follow too.",
)
def serve(
    db_path: Path | None,
    port: int,
    seed_path: Path | None,
    max_input_vars: int,
    latency: float,
    fail_rate: float,
    cost_model: str,
) -> None:
    """Serve the sandbox LMS on 127.0.0.1.

    Prints the site URL and its web-service token, then serves until Ctrl-C.

    \b
    Example:
      plutoctl sandbox serve --db demo.db --seed users.csv --port 8080
      curl -d wstoken=TOKEN -d wsfunction=core_webservice_get_site_info \\
           -d moodlewsrestformat=json http://127.0.0.1:8080/webservice/rest/server.php
    """
    from plutoctl.sandbox import Sandbox, Store, model_named, open_embedded, seed_csv

    costs = model_named(cost_model)
    if db_path is not None:
        sb = open_embedded(
            db_path, seed_csv=seed_path, max_input_vars=max_input_vars, port=port, costs=costs
        )
    else:
        store = Store()
        if seed_path is not None:
            seed_csv(store, seed_path)
        sb = Sandbox.start(max_input_vars=max_input_vars, port=port, store=store, costs=costs)
    with sb:
        if latency:
            sb.faults.inject("latency", seconds=latency)
        if fail_rate:
            sb.faults.inject("status", rate=fail_rate, status=503, retry_after=1)
        click.echo(f"url:   {sb.url}")
        click.echo(f"token: {sb.token}")
        click.echo(f"endpoint: {sb.endpoint}")
        click.echo("Serving; press Ctrl-C to stop.", err=True)
        sys.stdout.flush()
        _wait_for_interrupt()
    click.echo("Stopped.", err=True)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        return


@sandbox.command()
@click.argument(
    "csv_path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file to fill (created if missing).",
)
@click.option(
    "--generate",
    "generate_spec",
    metavar="KEY=N,…",
    help=f"Generate synthetic data; keys: {', '.join(GENERATE_KEYS)}.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME:TYPE[:A|B…]",
    help="A custom profile field for --generate (repeatable).",
)
def seed(
    csv_path: Path | None, db_path: Path, generate_spec: str | None, fields: tuple[str, ...]
) -> None:
    """Fill a sandbox database from a CSV or a generator.

    Loads users, profile fields, courses, enrolments, groups and segments from a
    Pluto bulk-upload-users CSV, or generates them at scale with --generate.

    \b
    Example:
      plutoctl sandbox seed users.csv --db demo.db
      plutoctl sandbox seed --generate users=100000,courses=200 \\
          --field 'department:menu:Sales|HR|IT|Ops' --db big.db
    """
    from plutoctl.sandbox import FieldSpec, Store, generate, seed_csv

    if (csv_path is None) == (generate_spec is None):
        raise UsageError("give either a CSV file or --generate, not both or neither")
    counts = _parse_generate(generate_spec) if generate_spec else {}
    try:
        specs = [FieldSpec.parse(text) for text in fields]
    except SandboxError as exc:
        raise UsageError(exc.message) from exc
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path)
    is_new = store.is_new
    try:
        before = store.user_count()
        if generate_spec and not is_new:
            # Its names restart at user000001 and seg-0001: into a filled database they
            # clash, or make segment IDs Moodle never holds twice.
            raise SandboxError(
                f"--generate fills a new database, and {db_path} exists",
                hint=f"name a new file with --db, or remove {db_path} first",
            )
        if csv_path is not None:
            seed_csv(store, csv_path)
        else:
            generate(
                store,
                users=counts.get("users", 0),
                courses=counts.get("courses", 0),
                fields=specs,
                cohorts=counts.get("cohorts", 0),
                members_per_cohort=counts.get("members", 0),
                enrolments_per_course=counts.get("enrolments", 0),
            )
        added = store.user_count() - before
    except BaseException:
        store.close()
        if is_new:  # nothing was loaded: a half-made file would pass for a seeded one
            _remove_database(db_path)
        raise
    store.close()
    made = [f"{added:,} {'user' if added == 1 else 'users'} added"]
    made += [f"{n:,} {key}" for key, n in counts.items() if key != "users" and n]
    made += [f"profile field {spec.shortname} ({spec.type})" for spec in specs]
    click.echo(f"Seeded {db_path}: {', '.join(made)}.")


def _parse_generate(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in GENERATE_KEYS or not value.strip().isdigit():
            raise UsageError(
                f"bad --generate item {part!r}; "
                f"use KEY=N with KEY one of {', '.join(GENERATE_KEYS)}"
            )
        counts[key] = int(value)
    return counts


_SQLITE_MAGIC = b"SQLite format 3\x00"
_DB_COMPANIONS = ("-wal", "-shm", "-journal")


@sandbox.command()
@config_option
@click.option("--site", "sites", multiple=True, metavar="NAME", help="Only this site (repeatable).")
def reset(config_path: Path, sites: tuple[str, ...]) -> None:
    """Delete the databases of the config's sandbox sites, to start them again.

    Each `url: sandbox:PATH` site's database (PATH, relative to the config file) is
    removed; the next plan creates it again and loads its `seed:` CSV. Other sites
    are never touched; naming one with --site is an error.

    Example:

        plutoctl sandbox reset -c segments.yaml.example
    """
    loaded = load(config_path)
    names = list(sites) or [n for n, s in loaded.config.sites.items() if s.is_sandbox]
    for name in names:
        site = loaded.config.sites.get(name)
        if site is None or not site.is_sandbox:
            raise UsageError(
                f"{name!r} is not a sandbox site of {config_path}",
                hint="reset names sites whose url is sandbox:PATH",
            )
    if not names:
        click.echo(f"No sandbox sites in {config_path}.")
    paths = {
        name: loaded.resolve(loaded.config.sites[name].url.removeprefix("sandbox:"))
        for name in names
    }
    for db_path in paths.values():  # all checked before any is removed: never half a reset
        _check_database(db_path)
    for name, db_path in paths.items():
        click.echo(f"site {name}: {_remove_database(db_path)}")


def _check_database(db_path: Path) -> None:
    """Raise unless ``db_path`` is missing or a SQLite database (what reset may remove)."""
    if not db_path.exists():
        return
    is_database = False
    if db_path.is_file():
        with db_path.open("rb") as stream:
            is_database = stream.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    if not is_database:
        raise PlutoError(
            f"{db_path} is not a SQLite database; not removing it (nor any other)",
            hint="check the site's url: sandbox:PATH names its database file",
        )


def _remove_database(db_path: Path) -> str:
    """Remove a sandbox database and its SQLite companions; say what was done."""
    if not db_path.exists():
        return f"{db_path} does not exist; the next run creates it"
    for companion in (db_path, *(Path(f"{db_path}{s}") for s in _DB_COMPANIONS)):
        companion.unlink(missing_ok=True)
    return f"removed {db_path}; the next run creates it again from its seed"
