"""Typed changes, the table of their kinds, and the plan that holds them.

``kinds`` is the change table: each kind's step, class (with what the re-read site
must show once it is applied) and row of ``KINDS``; ``base`` what the kinds share
(the row's shape, targets, signs); ``subjects`` what a change names; ``plans`` the
plan values every part of plutoctl passes around.

A new kind of change needs: its step, class and row in ``kinds`` (this package's one
module a kind is added in); its function in the registry (``plutoctl.lms.functions``)
unless an existing one writes it; one writer method (``plutoctl.lms.writer``); and
the code that decides to plan it (``plutoctl.plan.diff``). Its count in the
summary is a ``SiteSummary`` field and label (``plutoctl.plan.summary``: a kind
has a count of its own, a key of the plan JSON, which docs/plan-format.md lists).
What treats kinds alike follows from the row: the action table of
docs/plan-format.md is generated from it (``plutoctl.plan.render.reference``), and
the tests build a change of each kind from its class's fields. A headline or a
safety rule of its own is optional.
"""
