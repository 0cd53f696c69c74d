"""The web app ``lofte serve`` runs: pages (``pages``), the feed path (``feed``), the factory (``app``)."""

from __future__ import annotations

from scheduler.web.app import LofteApp, create_app
from scheduler.web.feed import FeedEndpoint

__all__ = ["FeedEndpoint", "LofteApp", "create_app"]
