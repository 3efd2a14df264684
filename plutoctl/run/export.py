"""Read what ``plutoctl export`` needs from a site and turn it into config."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from plutoctl.config import LoadedConfig
from plutoctl.config.schema import SiteConfig
from plutoctl.errors import PlutoError
from plutoctl.export import Export, ExportOptions, export_site
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import ExistingSite
from plutoctl.run.connect import Connection, open_site


def export_from_site(
    loaded: LoadedConfig,
    site: str,
    courses: Sequence[str],
    options: ExportOptions,
    connection: Connection,
    out_dir: Path | None,
) -> tuple[Export, ExistingSite]:
    """Read a site's segments (and the groups of ``courses``); return them as config.

    ``out_dir`` is where the config goes: a sandbox path in it is made relative to it
    (None: the config is printed, to be saved who knows where; the path is absolute).
    Returns the export and the site as read.
    """
    with open_site(site, loaded, connection) as client:
        listing = read_site(client, ReadScope(courses=frozenset(courses)))
        scope = ReadScope(
            segments=frozenset() if not options.include_members else frozenset(listing.segments),
            courses=frozenset(courses),
        )
        existing = read_site(client, scope) if scope.segments else listing
    check_complete(existing, site)
    check_courses(existing, site, courses)
    export = export_site(
        site, portable_site(loaded, site, out_dir), existing, list(courses), options
    )
    return export, existing


def portable_site(loaded: LoadedConfig, name: str, out_dir: Path | None) -> SiteConfig:
    """Return the site's config with a sandbox path made relative to ``out_dir`` (None:
    absolute)."""
    site = loaded.config.sites[name]
    if not site.is_sandbox:
        return site
    db_path = loaded.resolve(site.url.removeprefix("sandbox:"))
    path = os.path.relpath(db_path, out_dir.resolve()) if out_dir is not None else str(db_path)
    # The database already exists, so its seed is not needed again.
    return site.model_copy(update={"url": f"sandbox:{path}", "seed": None})


def check_complete(existing: ExistingSite, site: str) -> None:
    """Refuse to export what was read in part: planned, a member left out is removed."""
    if existing.incomplete:
        reasons = "; ".join(existing.incomplete[:3])
        more = len(existing.incomplete) - 3
        raise PlutoError(
            f"site {site!r}: the read was incomplete, so the export would leave out what "
            f"was not read: {reasons}{f'; and {more} more' if more > 0 else ''}; nothing "
            "was written",
            hint=(
                f"give each cohort its own segment ID on the site (shared: "
                f"{', '.join(map(repr, existing.shared_ids))}), then export again"
                if existing.shared_ids
                else "run the export again; if it keeps failing, check the site (--debug "
                "shows each call)"
            ),
        )


def check_courses(existing: ExistingSite, site: str, courses: Sequence[str]) -> None:
    """Refuse to export when a course named with --course was not read."""
    problems = [
        f"{name}: could not be read ({existing.unread_courses[name]})"
        if name in existing.unread_courses
        else f"{name}: no course with this short name"
        for name in courses
        if name not in existing.courses
    ]
    if problems:
        raise PlutoError(
            f"site {site!r}: cannot export course(s): " + "; ".join(problems),
            hint="check the --course short names (course short names are case-sensitive)",
        )
