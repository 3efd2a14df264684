"""core_webservice_get_site_info: the site, the token's user and its function list."""

from __future__ import annotations

import secrets
from typing import Any

from plutoctl.sandbox.functions.base import RELEASE, VERSION, CallContext, WsFunction
from plutoctl.sandbox.params import Kind, Multiple, Need, Nested, Single, req
from plutoctl.sandbox.schema import ADMIN_ID, SITE_COURSE_ID

ADVANCED_FEATURES = (
    ("usecomments", 1),
    ("usetags", 1),
    ("enablenotes", 1),
    ("messaging", 1),
    ("enableblogs", 1),
    ("enablecompletion", 1),
    ("enablebadges", 1),
    ("messagingallusers", 0),
    ("enablecustomreports", 1),
    ("enableglobalsearch", 0),
    ("mnet_dispatcher_mode", 0),
    ("enablecompetencies", 1),
)
"""A new Moodle 4.5 site's feature settings, as the recorded site reports them."""


def _private_key(ctx: CallContext) -> str:
    """Return the admin's private access key (for file URLs): random, made once per site."""
    ctx.db.execute(
        "INSERT OR IGNORE INTO config VALUES ('userprivateaccesskey', ?)", (secrets.token_hex(16),)
    )
    row = ctx.db.execute("SELECT value FROM config WHERE name = 'userprivateaccesskey'").fetchone()
    return str(row[0])


def get_site_info(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Return site info; ``functions`` lists every function in the token's service."""
    del args  # serviceshortnames is deprecated and ignored, as on a real site
    admin = ctx.db.execute("SELECT * FROM user WHERE id = ?", (ADMIN_ID,)).fetchone()
    site = ctx.db.execute("SELECT fullname FROM course WHERE id = ?", (SITE_COURSE_ID,)).fetchone()
    return {
        "sitename": site[0],
        "username": admin["username"],
        "firstname": admin["firstname"],
        "lastname": admin["lastname"],
        "fullname": f"{admin['firstname']} {admin['lastname']}",
        "lang": "en",
        "userid": ADMIN_ID,
        "siteurl": ctx.site_url,
        "userpictureurl": f"{ctx.site_url}/theme/image.php/boost/core/1795869743/u/f1",
        "functions": [{"name": name, "version": VERSION} for name in ctx.service_functions],
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": RELEASE,
        "version": VERSION,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": name, "value": value} for name, value in ADVANCED_FEATURES],
        "usercanmanageownfiles": True,
        "userquota": 0,
        "usermaxuploadfilesize": -1,
        "userhomepage": 1,
        "userprivateaccesskey": _private_key(ctx),
        "siteid": SITE_COURSE_ID,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": True,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }


FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_webservice_get_site_info",
        Single({"serviceshortnames": Multiple(req(Kind.ALPHANUMEXT), Need.DEFAULT, [])}),
        get_site_info,
    ),
)
