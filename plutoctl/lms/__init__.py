"""Talking to Pluto/Moodle sites: the web-service client and the existing-state reader."""
