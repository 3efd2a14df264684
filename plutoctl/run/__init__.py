"""Run the pipeline against sites: connect, read, plan, apply, re-verify saved plans.

The only part of plutoctl that both reads sites and uses the pure core: ``connect``
opens a site, ``sites`` runs a task on each selected site in parallel, ``plan`` and
``apply`` are the two commands' pipelines, ``reverify`` re-checks a saved plan, and
``explain`` and ``export`` are the reads those commands need. ``plutoctl.cli`` calls
these and prints what they return.
"""
