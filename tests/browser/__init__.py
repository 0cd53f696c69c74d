"""Whole flows in a real headless Chromium (Playwright's sync API, Debian's /usr/bin/chromium)."""
