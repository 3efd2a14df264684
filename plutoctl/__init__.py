"""plutoctl: Pluto LMS user segments, course groups and enrolment as code."""

__version__ = "0.2.0"
