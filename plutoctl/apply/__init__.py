"""Apply a plan to a site: execute it (``execute``), report on it (``report``), and
check the result (``verify``)."""
