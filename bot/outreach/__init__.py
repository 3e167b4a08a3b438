"""Coordinators' outbound announcements: the dispatcher."""
