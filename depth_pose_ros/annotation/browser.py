"""Driving the page in Debian's Chromium (Playwright), for the benchmark and the tests."""

from __future__ import annotations

import shutil

# Headless, and nothing off this machine: no background services, updates, sync or QUIC.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    """Debian's chromium (`apt-get install chromium`; `make test` installs it), if present."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
