"""Rule evaluation and explanation: Pluto's User Segment Automation (docs/rules.md).

plutoctl evaluates rules itself, because the LMS API has no rule functions. The
semantics follow Pluto's automation plugin (docs/moodle.md, "Segment automation"):

- A segment's top-level rules are OR'ed; ``all`` is AND (nested ``all`` flattens).
- Text matches compare the user's value after ``strip_tags``, trim and case-fold
  against the rule's value after trim and case-fold. Menu and checkbox fields
  compare the same way: Pluto compares menu values exactly, but menu values come
  from a fixed option list, so folding case only forgives a config typo and cannot
  confuse two options.
- ``defined`` means the user has a value for the field (it is in ``User.custom``);
  standard fields (``user.<name>``) are always defined.
- A user without a value counts as having the empty value for every other match.
  The web-service API omits empty custom fields, so plutoctl cannot tell an empty
  value from a missing one; it treats both as empty (``empty`` holds,
  ``notexact 'Sales'`` holds).

The parts: ``conditions`` (one test, and how values compare), ``index`` (who matches,
for a whole site at once), ``check`` (what a site cannot evaluate as written) and
``rule_set`` (a config's rules, compiled, evaluated and explained).
"""
