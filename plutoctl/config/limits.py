"""Moodle's column limits for the values plutoctl writes (``lib/db/install.xml``).

One home for these numbers: YAML validation, the segments CSV reader and anything
else that checks a length import them from here. Moodle's upload pages cut longer
values silently; plutoctl refuses them instead, so what is declared is what is
written. Lengths are in characters, as Moodle counts them.
"""

from __future__ import annotations

SEGMENT_NAME = 254
"""``cohort.name`` is char(254)."""

SEGMENT_IDNUMBER = 100
"""``cohort.idnumber`` is char(100)."""

GROUP_NAME = 254
"""``groups.name`` is char(254)."""

GROUP_IDNUMBER = 100
"""``groups.idnumber`` is char(100)."""
