"""The plan: per site, the changes apply will make, with what the safety policy refused or
let through, the notices, and what the plan was made from."""

from __future__ import annotations

from dataclasses import dataclass, field

from plutoctl.plan.changes.kinds import Change


@dataclass(frozen=True)
class Refusal:
    """A change the safety policy holds back until the user acknowledges it."""

    change: Change
    reason: str
    acknowledge: str
    """The flag that would allow it, e.g. ``--allow-removals dept-sales``."""


@dataclass(frozen=True)
class Acknowledged:
    """A change the safety policy would refuse, let through by an acknowledgement.

    ``by`` names the acknowledgement: ``acknowledge.removals dept-sales: 40`` (from the
    config) or ``--allow-removals dept-sales`` (from the command line); ``reason`` is
    what the policy would have refused. Recorded in the plan so a reviewer sees it.
    """

    subject: str
    reason: str
    by: str


@dataclass(frozen=True)
class Notice:
    """Something the plan reader should know that is not a change."""

    level: str  # "info" | "warning" | "error"
    message: str
    where: str = ""
    usernames: tuple[str, ...] = field(default=(), compare=False)
    """The usernames the message names (each as ``repr`` writes it): a report that
    hides usernames (Markdown without ``--show-members``) masks them. Not saved."""


INCOMPLETE_READ = "the site's read"
"""``Notice.where`` of the notice that a site's read was incomplete
(``SitePlan.is_read_incomplete``)."""


@dataclass(frozen=True)
class SitePlan:
    """The plan for one site.

    ``changes`` are what apply will do, in step order. ``refused`` are changes the
    safety policy refused (the plan is then unsafe, exit 3). ``held_back`` are
    removals skipped on purpose (additive membership, an incomplete read, no
    ``unenrol``), shown so nobody is surprised. ``errors`` make the site's plan
    unusable (unknown usernames, a failed read); apply never runs a site with errors.
    ``fingerprints`` map each touched object's key to a digest of its existing state.
    ``estimated_seconds``: how long apply takes on a typical site (``plutoctl.lms.functions``).
    """

    site: str
    changes: tuple[Change, ...] = ()
    refused: tuple[Refusal, ...] = ()
    held_back: tuple[Notice, ...] = ()
    notices: tuple[Notice, ...] = ()
    errors: tuple[Notice, ...] = ()
    api_calls: int = 0
    fingerprints: tuple[tuple[str, str], ...] = ()
    acknowledged: tuple[Acknowledged, ...] = ()
    estimated_seconds: float = 0.0

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def is_read_incomplete(self) -> bool:
        """Whether part of the site could not be read: the plan may miss changes."""
        return any(notice.where == INCOMPLETE_READ for notice in self.notices)

    @property
    def is_blocked(self) -> bool:
        """Whether the config calls for a change the site cannot take as it is (an error
        notice, such as a group name another group holds); the other
        changes go ahead, but the site will not match the config after them."""
        return any(notice.level == "error" for notice in self.notices)


@dataclass(frozen=True)
class PlanBasis:
    """What a plan was made from, recorded so a saved plan can be checked before apply.

    ``inputs`` maps ``config`` and each CSV file the config reads (as the config names
    it) to the SHA-256 of its content; the acknowledgements and the ``--only`` /
    ``--except`` selection are the ones the plan was made with.
    """

    inputs: tuple[tuple[str, str], ...] = ()
    allow_removals: tuple[str, ...] = ()
    allow_delete: tuple[str, ...] = ()
    allow_move: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Plans for every site of a run; ``basis`` is None for a plan that records none."""

    sites: tuple[SitePlan, ...]
    config_path: str = ""
    created_at: str = ""
    basis: PlanBasis | None = None
    # (site, seal) for each site of a saved plan: see plutoctl.plan.saved.
    seals: tuple[tuple[str, str], ...] = ()

    @property
    def has_changes(self) -> bool:
        return any(s.has_changes for s in self.sites)

    @property
    def is_refused(self) -> bool:
        return any(s.refused for s in self.sites)

    @property
    def has_errors(self) -> bool:
        return any(s.errors for s in self.sites)

    @property
    def is_read_incomplete(self) -> bool:
        return any(s.is_read_incomplete for s in self.sites)

    @property
    def is_blocked(self) -> bool:
        return any(s.is_blocked for s in self.sites)
