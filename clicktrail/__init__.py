"""Clicktrail: self-hosted web tracking and personalization (shared core)."""

__version__ = "0.1.0"
