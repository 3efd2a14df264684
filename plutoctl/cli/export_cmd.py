"""``plutoctl export``: write a site's segments and groups as config."""

from __future__ import annotations

from pathlib import Path

import click

from plutoctl.cli.options import (
    complete_sites,
    config_option,
    connection,
    connection_options,
    load,
    refuse_overwriting_inputs,
)
from plutoctl.errors import PlutoError, UsageError


@click.command("export", short_help="Write a site's segments and groups as config.")
@config_option
@click.option(
    "--site",
    required=True,
    metavar="NAME",
    shell_complete=complete_sites,
    help="The site to export.",
)
@click.option(
    "--course",
    "courses",
    multiple=True,
    metavar="SHORTNAME",
    help="Also export this course's groups (repeatable).",
)
@click.option("--no-members", is_flag=True, help="Export segment definitions only.")
@click.option(
    "--csv-dir",
    metavar="DIR",
    help="Write members of large segments (over 50) as CSV files in DIR, beside the output.",
)
@click.option(
    "--segments-csv",
    metavar="FILE",
    help="Write segment definitions to FILE (beside the output) in Pluto's Bulk Create "
    "User Segments format; the config reads it with segments_csv.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the config here instead of stdout (never over a file the config reads).",
)
@connection_options
def export_command(
    config_path: Path,
    site: str,
    courses: tuple[str, ...],
    csv_dir: str | None,
    segments_csv: str | None,
    out: Path | None,
    parallelism: int,
    timeout: float,
    *,
    no_members: bool,
) -> int:
    """Write a site's existing segments (and course groups) as config YAML.

    Planning the exported file against the same site shows no changes, which makes
    it the starting point for bringing an existing site under plutoctl.

    Example:

        plutoctl export -c segments.yaml --site primary --course ONBOARD-101 -o site.yaml

    With --segments-csv, segment definitions go to a CSV that Pluto's Bulk Create
    User Segments page also takes, and the YAML keeps only their members.
    """
    from plutoctl.export import ExportOptions
    from plutoctl.run.export import export_from_site

    loaded = load(config_path)
    if site not in loaded.config.sites:
        raise UsageError(f"unknown site {site!r}", hint=f"sites: {', '.join(loaded.config.sites)}")
    if csv_dir is not None and out is None:
        raise UsageError("--csv-dir needs --out (CSV paths are relative to the config)")
    if segments_csv is not None and out is None:
        raise UsageError("--segments-csv needs --out (CSV paths are relative to the config)")
    if out is not None:
        _check_beside(out, csv_dir, segments_csv)
    using = connection(parallelism=parallelism, timeout=timeout)
    # Printed, the config may be saved anywhere: a sandbox path in it is then absolute.
    out_dir = out.parent if out is not None else None
    options = ExportOptions(
        include_members=not no_members, csv_dir=csv_dir, segments_csv=segments_csv
    )
    export, _ = export_from_site(loaded, site, courses, options, using, out_dir)
    for note in export.skipped:
        click.echo(f"warning: skipped {note}", err=True)
    for note in export.notes:
        click.echo(f"warning: {note}", err=True)
    if out is None:
        click.echo(export.yaml_text, nl=False)
        return 0
    files = {out.parent / relative: text for relative, text in export.csv_files.items()}
    files[out] = export.yaml_text
    refuse_overwriting_inputs(loaded, list(files), what="the export")
    for path, text in files.items():
        _write(path, text)
    click.echo(
        f"Wrote {out} ({export.segment_count} segments, {len(export.csv_files)} CSV files).",
        err=True,
    )
    return 0


def _check_beside(out: Path, csv_dir: str | None, segments_csv: str | None) -> None:
    """Refuse CSV paths that name no file of their own beside the output."""
    if csv_dir is not None and not csv_dir.strip():
        raise UsageError(
            "--csv-dir is empty",
            hint="name the directory for the CSV files, e.g. --csv-dir members",
        )
    if segments_csv is None:
        return
    if not segments_csv.strip() or segments_csv.endswith(("/", "\\")):
        raise UsageError(
            f"--segments-csv {segments_csv!r} names no file",
            hint="name the CSV file, e.g. --segments-csv segments.csv",
        )
    target = (out.parent / segments_csv).resolve()
    if target == out.resolve() or target.is_dir():
        what = "the --out file" if target == out.resolve() else "a directory"
        raise UsageError(
            f"--segments-csv {segments_csv!r} is {what}",
            hint="name a CSV file of its own, e.g. --segments-csv segments.csv",
        )


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written as is: the segments CSV holds CRLF line ends and fields with line breaks.
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise PlutoError(f"cannot write {path}: {exc.strerror or exc}") from exc


def register(cli: click.Group) -> None:
    """Add ``export`` to the CLI."""
    cli.add_command(export_command)
