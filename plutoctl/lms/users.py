"""The reads of a site's users: listed in full, looked up by field, or learned cheapest.

Every user is listed (in pages of the site course's enrolments, or where that is
refused, in one ``core_user_get_users`` call) when rules need profiles; otherwise
only the users the config and the members name are learned, by the cheapest call
(``resolve.py``). A look-up a site leaves unanswered in part is asked again, a few
at a time, before those users are taken not to exist. The account fields rules use
are looked up last (``read_account_fields``). Each read fills a ``found.Read``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, cast

import msgspec

from plutoctl.errors import AccessDeniedError, LmsError, PermissionDeniedError
from plutoctl.lms.answers import USERS, USERS_ANSWER, UserRow
from plutoctl.lms.client import SiteClient
from plutoctl.lms.found import ACCOUNT_FIELDS, Read, UserIndex, UsersRead, is_kept, reason
from plutoctl.lms.functions import ENROLLED_USERS, GET_USERS, USERS_BY_FIELD, list_key
from plutoctl.lms.pages import enrolled_pages
from plutoctl.lms.resolve import listing_bound
from plutoctl.lms.responses import validate_answer

if TYPE_CHECKING:
    from plutoctl.lms.reader import ReadScope

log = logging.getLogger(__name__)

RECHECK_LOOKUPS = 20
"""How many unanswered lookups one call asks again (far below any max_input_vars)."""


class UserReads:
    """The reads of one site's users; each returns a ``Read`` and raises only when fatal."""

    def __init__(
        self, client: SiteClient, scope: ReadScope, functions: frozenset[str], site_id: int
    ) -> None:
        self.client = client
        self.scope = scope
        self.functions = functions
        self.site_id = site_id
        self.site = client.site

    def read_users(self) -> UsersRead:
        """List every user if rules need them; otherwise named users are learned later.

        Where the listing failed part-way, the named users are looked up by field.
        """
        read = UsersRead()
        if not self.scope.needs_all_users:
            return read
        self._list_all_users(read)
        if read.is_listing_complete:
            # Every user is listed: the named ones need no second look (on a large site
            # the sets of named and listed users cost about 0.2 s to build).
            return read
        named = set(self.scope.usernames) - {u.username for u in read.users.values()}
        if named:
            read.users.update(self._users_by_field("username", sorted(named), read))
        return read

    def _list_all_users(self, read: UsersRead) -> None:
        if ENROLLED_USERS in self.functions:
            try:
                records, failure = self._listing(self._user_fields(), self.client.parallelism)
            except (AccessDeniedError, PermissionDeniedError):
                if GET_USERS not in self.functions:
                    raise
                log.info(
                    "%s: listing users on the site course refused; using %s", self.site, GET_USERS
                )
            else:
                read.users.update((r.id, r) for r in records if is_kept(r))
                read.is_listing_complete = failure is None
                if failure:
                    read.incomplete.append(failure)
                return
        # lastname: shown for every user and never empty. Moodle leaves out of the answer
        # any user whose searched field is empty or hidden: an email may be either.
        raw = self.client.read(GET_USERS, {"criteria": [{"key": "lastname", "value": "%"}]})
        answer = validate_answer(USERS_ANSWER, raw, site=self.site, function=GET_USERS)
        read.users.update((r.id, r) for r in answer.users if is_kept(r))
        read.is_listing_complete = True

    def _user_fields(self) -> str:
        return ",".join(self._listing_fields())

    def _listing_fields(self) -> tuple[str, ...]:
        # Every field asked for is paid on every user: only what rules read.
        # The account fields are left out: core_enrol_get_enrolled_users never returns
        # them (Moodle 4.5), yet asking for them costs on every user. See
        # read_account_fields.
        fields = ["id", "username"] + (["customfields"] if self.scope.needs_custom_fields else [])
        fields += sorted(set(self.scope.standard_fields) - {*fields, *ACCOUNT_FIELDS})
        return tuple(fields)

    def _listing(self, userfields: str, wave: int) -> tuple[list[UserRow], str | None]:
        """List every user of the site course with ``userfields``, ``wave`` pages at a time."""
        return enrolled_pages(
            self.client,
            self.site_id,
            userfields,
            USERS,
            size=self.scope.page_size,
            wave=wave,
            key=attrgetter("id"),
            what="the site's users",
        )

    def _users_by_field(self, key: str, values: list[Any], read: Read) -> dict[int, UserRow]:
        found: dict[int, UserRow] = {}
        chunks = self.client.call_chunked(
            USERS_BY_FIELD,
            list_key(USERS_BY_FIELD),
            values,
            params={"field": key},
            retry_safe=True,
            adapter=USERS,
        )
        answered: set[Any] = set()
        for chunk in chunks:
            if chunk.error is not None:
                read.incomplete.append(reason(f"looking up {len(chunk.items)} users", chunk.error))
                continue
            rows = cast(list[UserRow], chunk.result)
            answered.update(getattr(r, key, None) for r in rows)
            _keep(rows, found, read)
        # A site whose max_input_vars is below the config's drops the values past it and
        # answers for the rest: what went unanswered is asked again, a few at a time,
        # before those users are taken not to exist.
        asked = {v for chunk in chunks if chunk.error is None for v in chunk.items}
        unanswered = [v for v in values if v in asked and v not in answered]
        for start in range(0, len(unanswered), RECHECK_LOOKUPS):
            group = unanswered[start : start + RECHECK_LOOKUPS]
            try:
                again = self.client.read(
                    USERS_BY_FIELD, {"field": key, "values": group}, adapter=USERS
                )
            except LmsError as exc:
                read.incomplete.append(reason(f"looking up {len(group)} users", exc))
                continue
            _keep(cast(list[UserRow], again), found, read)
        return found

    def read_account_fields(self, users: UserIndex) -> None:
        """Learn the account fields rules use (``suspended``, ``auth``, ``lang``), and only then.

        No listing gives them: core_enrol_get_enrolled_users never returns them, whatever
        ``userfields`` asks (Moodle 4.5). core_user_get_users_by_field does, at about
        3 ms a user (docs/lms.md, "Account fields" and "What calls cost"), so it is
        asked for the users no read gave them for. Users it does not answer for stay
        unknown, and the read is marked incomplete: a rule never sees an unknown value
        as an empty one.
        """
        wanted = [name for name in ACCOUNT_FIELDS if name in self.scope.standard_fields]
        if not wanted:
            return
        unknown = sorted(
            i for i, r in users.records.items() if any(getattr(r, f) is None for f in wanted)
        )
        if not unknown:
            return
        read = Read()
        found = self._users_by_field("id", unknown, read)
        for user_id, record in found.items():
            known = {f: getattr(record, f) for f in wanted if getattr(record, f) is not None}
            if user_id in users.records and known:
                users.records[user_id] = msgspec.structs.replace(users.records[user_id], **known)
        users.incomplete.extend(read.incomplete)
        still = [i for i in unknown if any(getattr(users.records[i], f) is None for f in wanted)]
        if still and not read.incomplete:
            users.incomplete.append(
                f"the {'/'.join(wanted)} of {len(still)} user(s) could not be read"
            )

    def learn_users(self, users: UserIndex, reads: list[Read]) -> None:
        """Name every member id and find every named user the reads have not, cheapest first.

        What the run learned earlier (``known_users``) is not asked again, where no
        profile is needed. The rest is looked up by field, or, past the break-even
        (about one user in ten of the site's), learned by listing every user with
        ``id,username`` and the profile fields the scope needs: never both.
        """
        fields = self._listing_fields()
        needs_profiles = fields != ("id", "username")
        known = {} if needs_profiles else self.scope.known_users
        ids = users.unknown_ids(reads)
        users.add(UserRow(id=i, username=known[i]) for i in sorted(ids & known.keys()))
        ids -= known.keys()
        # Named users need their profiles where the scope needs any: a user seen only
        # in a course's enrolments (a name, no profile) is learned again.
        thin = users.thin if needs_profiles else set()
        seen = {name for user_id, name in users.usernames.items() if user_id not in thin}
        names = set(self.scope.usernames) - seen
        by_name = {username: user_id for user_id, username in known.items()}
        users.add(UserRow(id=by_name[n], username=n) for n in sorted(names & by_name.keys()))
        names -= by_name.keys()
        asked = len(ids) + len(names)
        if not asked:
            return
        read = Read()
        can_list = ENROLLED_USERS in self.functions
        bound = listing_bound(self.client, self.site_id, asked, fields) if can_list else None
        if bound is not None:
            # No more pages in flight than the site can fill: there are no ids past ``bound``.
            pages = bound // self.scope.page_size + 1
            try:
                listed, failure = self._listing(
                    ",".join(fields), min(self.client.parallelism, pages)
                )
            except (AccessDeniedError, PermissionDeniedError):
                log.info("%s: listing users refused; looking %d up by field", self.site, asked)
            else:
                users.add(record for record in listed if is_kept(record))
                users.incomplete.extend([failure] if failure else [])
                return
        lookups: list[tuple[str, list[Any]]] = [("username", sorted(names)), ("id", sorted(ids))]
        found = self.client.map_concurrent(
            lambda lookup: self._users_by_field(lookup[0], lookup[1], read) if lookup[1] else {},
            lookups,
        )
        for records in found:
            users.add(records.values())
        users.incomplete.extend(read.incomplete)
        users.left_alone |= read.left_alone

    def resolve_ids(self, users: UserIndex, reads: list[Read]) -> None:
        """Look up, in one call, every user id a read found that no read has fully read.

        Members no read has named, and, when rules need profiles, users seen only by
        name in a course's enrolments: a user the site-wide listing missed is
        *unknown*, never a user with an empty profile (rules would drop them). One the
        lookup cannot return either leaves the read incomplete, so nothing is removed.
        """
        wanted = users.unknown_ids(reads)
        if self.scope.needs_all_users:
            wanted |= users.thin
        if not wanted:
            return
        read = Read()
        users.add(self._users_by_field("id", sorted(wanted), read).values())
        users.incomplete.extend(read.incomplete)
        users.left_alone |= read.left_alone
        if self.scope.needs_all_users and users.thin:
            unknown = sorted(users.thin)
            shown = ", ".join(map(str, unknown[:5])) + ("…" if len(unknown) > 5 else "")
            users.incomplete.append(
                f"the profiles of {len(unknown)} user(s) seen in course enrolments could "
                f"not be read: the user listing missed them and the lookup by id did not "
                f"return them (user ids {shown})"
            )

    # courses


def _keep(rows: Iterable[UserRow], found: dict[int, UserRow], read: Read) -> None:
    """Keep the users a look-up answered; the guest and deleted users are left alone."""
    for r in rows:
        if is_kept(r):
            found[r.id] = r
        else:
            read.left_alone.add(r.id)
