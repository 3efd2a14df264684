"""Check the config's sites: URL, token and seed, and every ``sites:`` list naming them."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from plutoctl.config.bulk_users import check_bulk_users
from plutoctl.config.input_files import FileRefusedError, locate
from plutoctl.config.loaded import KeyPath
from plutoctl.config.parts import Parts
from plutoctl.config.recorder import Recorder, did_you_mean
from plutoctl.config.schema import CUSTOM_FIELD, TOKEN_REF, SiteConfig

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Letters (any script: IDNA names), digits, dots, hyphens and an IPv6 address's colons;
# never a space, a control character or punctuation that no host name holds.
_HOST = re.compile(r"[\w.:-]+")


def check_sites(rec: Recorder, parts: Parts) -> None:
    """Check each site's URL, token and seed, and the default sites."""
    for name, site in parts.sites.items():
        path: KeyPath = ("sites", name)
        _check_url(rec, path, site)
        _check_token(rec, path, name, site)
        _check_seed(rec, path, site)
        for i, shortname in enumerate(site.profile_fields):
            if not CUSTOM_FIELD.match(shortname):
                rec.error(
                    (*path, "profile_fields", i),
                    f"{shortname!r} is not a custom profile field shortname",
                    "list custom fields by shortname (letters, digits, _); standard fields "
                    "need no declaring",
                )
    if parts.default_sites is not None:
        check_site_list(rec, ("defaults", "sites"), parts.default_sites, parts)


def check_site_list(rec: Recorder, path: KeyPath, names: list[str], parts: Parts) -> None:
    """Check that a ``sites:`` list is non-empty and names declared sites only."""
    if not names:
        rec.error(path, "names no site", "remove the key to use the default sites")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            rec.warn((*path, i), f"site {name!r} is listed twice")
        seen.add(name)
        if name not in parts.site_names:
            hint = did_you_mean(name, parts.site_names, "declared sites")
            rec.error((*path, i), f"unknown site {name!r}", hint)


# A site URL pasted from the web service's endpoint: everything from /webservice on.
_WEBSERVICE_PATH = re.compile(r"/webservice(/.*)?$|/server\.php$", re.IGNORECASE)


def _check_url(rec: Recorder, path: KeyPath, site: SiteConfig) -> None:
    hint = "use https://host…, http://127.0.0.1… / http://localhost…, or sandbox:PATH"
    if site.is_sandbox:
        database = site.url.removeprefix("sandbox:")
        if not database.strip():
            rec.error((*path, "url"), "a sandbox URL needs a database path", hint)
        else:
            try:
                locate(rec.base_dir, database)
            except FileRefusedError as exc:
                rec.error((*path, "url"), f"the sandbox database {exc.message}", exc.hint)
        return
    try:
        parts = urlsplit(site.url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:  # an unclosed [IPv6] bracket, a bad port
        rec.error((*path, "url"), f"not a URL plutoctl can use: {exc}", hint)
        return
    if parts.scheme not in ("https", "http") or not parts.hostname:
        rec.error((*path, "url"), "not a URL plutoctl can use", hint)
    elif not _HOST.fullmatch(parts.hostname):
        rec.error((*path, "url"), f"not a host name: {parts.hostname!r}", hint)
    elif parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        rec.error((*path, "url"), "plain http is allowed only to the local machine", hint)
    elif parts.username or parts.password or _holds_token(site.url):
        rec.error(
            (*path, "url"),
            "the URL must not hold credentials or a token",
            "put the token in token: ${VAR} and set that variable",
        )
    elif _WEBSERVICE_PATH.search(parts.path):
        root = urlunsplit(
            (parts.scheme, parts.netloc, _WEBSERVICE_PATH.sub("", parts.path), "", "")
        )
        rec.error(
            (*path, "url"),
            "the URL is the web service's, not the site's",
            f"give the site root ({root or '/'}): plutoctl adds /webservice/rest/server.php",
        )


def _check_token(rec: Recorder, path: KeyPath, name: str, site: SiteConfig) -> None:
    variable = "PLUTO_TOKEN_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
    if site.is_sandbox:
        if site.token is not None:
            rec.error(
                (*path, "token"),
                "a sandbox site takes no token",
                "remove token:; plutoctl makes the sandbox's token itself",
            )
        return
    if site.token is None:
        # Given, but not as text: the schema's error says so already.
        if (*path, "token") not in rec.positions or "token" in site.model_fields_set:
            rec.error(path, "missing token", f"add token: ${{{variable}}} and set that variable")
    elif not site.token.strip():
        rec.error((*path, "token"), "the token is empty", f"write token: ${{{variable}}}")
    elif not TOKEN_REF.match(site.token):
        # Never echo the value: it may be a real token.
        if site.token.lstrip().startswith("${"):
            rec.error(
                (*path, "token"),
                "the token's variable reference is not of the form ${NAME}: plutoctl takes "
                "a variable's name alone (letters, digits and _), without defaults, "
                "spaces or other signs",
                f"write token: ${{{variable}}} and set that variable",
            )
            return
        bare = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", site.token.strip())
        if bare:  # $NAME, as a shell writes it
            rec.error(
                (*path, "token"),
                "the token's variable reference needs braces: plutoctl reads ${NAME}, and "
                "takes $NAME for a literal token",
                f"write token: ${{{bare.group(1)}}}",
            )
            return
        rec.error(
            (*path, "token"),
            f"a literal token is not allowed; write ${{{variable}}} and set that variable",
        )


def _check_seed(rec: Recorder, path: KeyPath, site: SiteConfig) -> None:
    if site.seed is None:
        return
    if not site.is_sandbox:
        rec.error((*path, "seed"), "seed is only for sandbox sites", "remove seed: or use sandbox:")
    elif not (rec.base_dir / site.seed).is_file():
        rec.error(
            (*path, "seed"), f"seed file {site.seed!r} not found", rec.relative_hint(site.seed)
        )
    else:
        shown = os.path.normpath(os.path.join(os.path.dirname(rec.shown_path), site.seed))
        rec.problems.extend(check_bulk_users(rec.base_dir / site.seed, shown))


def _holds_token(url: str) -> bool:
    """Return whether a URL carries a token anywhere: query, ;params, fragment, any case.

    Percent-encoding is undone first (``%77stoken``), as a server would undo it.
    """
    return "wstoken" in unquote(url).lower() or "wstoken" in url.lower()
