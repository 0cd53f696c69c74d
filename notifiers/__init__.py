"""Delivery channels behind one small interface (SMTP email; a file outbox by default)."""

__all__: list[str] = []
