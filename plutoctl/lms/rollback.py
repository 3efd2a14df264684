"""What a Moodle 4.5 site keeps of a write call that fails: the recorded rollback behaviour.

Every write function plutoctl sends runs in one database transaction on the site: an
exception answer means *nothing* of the call was kept, whichever item caused it
(``invalidparameter``, ``invalidrecord``, ``dml_write_exception``, a PHP ``TypeError``
with no errorcode…). That is what makes bisection sound: the halves of a rejected
chunk can be sent again without sending anything twice. The recordings of a real
site (542 sequences, tests/sandbox/data) show it for each function below that has a
recorded multi-item failure; tests/lms/test_lms_rollback.py checks the table against
them.

``core_cohort_add_cohort_members`` also answers *warnings* per item (not found,
already a member): those items fail or succeed alone and the rest of the call is kept.
"""

from __future__ import annotations

WHOLE_CALL_ROLLBACK: frozenset[str] = frozenset(
    {
        "core_cohort_create_cohorts",
        "core_cohort_update_cohorts",
        "core_cohort_delete_cohorts",
        "core_cohort_add_cohort_members",
        "core_cohort_delete_cohort_members",
        "core_group_create_groups",
        "core_group_update_groups",
        "core_group_delete_groups",
        "core_group_add_group_members",
        "core_group_delete_group_members",
        "enrol_manual_enrol_users",
        "enrol_manual_unenrol_users",
    }
)
"""Write functions whose failed call keeps nothing: a rejected chunk may be bisected."""

PER_ITEM_WARNINGS: frozenset[str] = frozenset({"core_cohort_add_cohort_members"})
"""Write functions that also report some item failures as warnings, keeping the rest."""


def is_bisectable(function: str) -> bool:
    """Return whether a rejected chunk of ``function`` can be split and sent again."""
    return function in WHOLE_CALL_ROLLBACK
