"""``required_version``: the plutoctl versions a config declares it works with.

As Terraform's ``required_version``: a comma-separated list of constraints, each an
operator and a version (``">=0.2,<0.3"``), all of which must hold. The operators are
``==``, ``!=``, ``>=``, ``<=``, ``>``, ``<`` and ``~=`` (compatible release: ``~=0.2``
is ``>=0.2,<1``, ``~=0.2.1`` is ``>=0.2.1,<0.3``). Versions are dotted numbers;
missing parts count as 0. This small subset needs no extra dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plutoctl import __version__

_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|~=|>|<|=)?\s*(\d+(?:\.\d+)*)\s*$")

Version = tuple[int, ...]


class VersionSpecError(ValueError):
    """A ``required_version`` that is not a list of constraints this plutoctl reads."""


@dataclass(frozen=True)
class Constraint:
    operator: str
    version: Version

    def holds(self, version: Version) -> bool:
        """Return whether ``version`` satisfies this constraint."""
        width = max(len(version), len(self.version))
        have, want = _padded(version, width), _padded(self.version, width)
        match self.operator:
            case "==" | "=":
                return have == want
            case "!=":
                return have != want
            case ">=":
                return have >= want
            case "<=":
                return have <= want
            case ">":
                return have > want
            case "<":
                return have < want
            case _:  # "~=": at least this version, same release series
                series = self.version[:-1] if len(self.version) > 1 else self.version
                return have >= want and version[: len(series)] == series


def _padded(version: Version, width: int) -> Version:
    return version + (0,) * (width - len(version))


def parse_version(text: str) -> Version:
    """Return the numeric release of a version such as ``0.2.0`` (suffixes dropped)."""
    match = re.match(r"^\s*(\d+(?:\.\d+)*)", text)
    if match is None:
        raise VersionSpecError(f"not a version: {text!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def parse_constraints(spec: str) -> tuple[Constraint, ...]:
    """Parse ``">=0.2,<0.3"``; raise VersionSpecError naming the clause it cannot read."""
    clauses = [c for c in spec.split(",")]
    if not spec.strip() or any(not c.strip() for c in clauses):
        raise VersionSpecError(f"{spec!r} is not a version constraint")
    result = []
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if match is None:
            raise VersionSpecError(f"cannot read the constraint {clause.strip()!r}")
        operator, version = match.group(1) or "==", parse_version(match.group(2))
        if operator == "~=" and len(version) < 2:
            raise VersionSpecError(f"{clause.strip()!r}: ~= needs at least two parts (~=0.2)")
        result.append(Constraint(operator, version))
    return tuple(result)


def unmet(spec: str, version: str = __version__) -> bool:
    """Return whether ``version`` fails any constraint of ``spec`` (which must parse)."""
    current = parse_version(version)
    return not all(c.holds(current) for c in parse_constraints(spec))
