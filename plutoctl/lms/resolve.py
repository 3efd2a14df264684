"""Choose how to learn user ids: look users up by field, or list every user.

``core_user_get_users_by_field`` builds each user's full record (about 3.2 ms a user
on a real site); listing every user with ``userfields=id,username`` costs about
0.3 ms a user of the site (``plutoctl.lms.functions``). Past the break-even, about one user in
ten of the site's, the listing is cheaper. The site's user count is not known
beforehand; one call answers the question: is there a user past the break-even?
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from plutoctl.errors import LmsError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.functions import ENROLLED_USERS, break_even_users

log = logging.getLogger(__name__)

LOOKUPS_WORTH_A_PROBE = 100
"""Fewer lookups than this cost at most a few tenths of a second: not worth the extra
calls (the probe, a page or two) that listing a small site takes."""


def listing_bound(
    client: SiteClient, site_id: int, asked: int, fields: Iterable[str] = ("id", "username")
) -> int | None:
    """Return the site's most users if listing them all (with ``fields``) beats looking
    ``asked`` up.

    Asks the site course for one user past the break-even: if there is none, the
    site is small enough for the listing to win. None: look them up (also when the
    probe fails).
    """
    if asked < LOOKUPS_WORTH_A_PROBE:
        return None
    limit = break_even_users(asked, fields)
    options = [
        {"name": "userfields", "value": "id"},
        {"name": "limitfrom", "value": limit},
        {"name": "limitnumber", "value": 1},
    ]
    try:
        answer = client.read(ENROLLED_USERS, {"courseid": site_id, "options": options})
    except LmsError as exc:
        log.debug("%s: probing the user count failed: %s", client.site, exc.errorcode)
        return None
    cheaper = isinstance(answer, list) and not answer
    log.debug(
        "%s: %d users to learn; site has %s than %d users: %s",
        client.site,
        asked,
        "fewer" if cheaper else "more",
        limit,
        "listing them all" if cheaper else "looking them up",
    )
    return limit if cheaper else None
