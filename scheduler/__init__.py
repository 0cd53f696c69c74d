"""Löfte's engine around the pure core: persistence, jobs, feeds, the web app and the CLI."""

__all__: list[str] = []
