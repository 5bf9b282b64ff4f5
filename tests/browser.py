"""Headless Chromium driven by Selenium, for the HTML report's tests and benchmark: Debian's
``chromium`` and ``chromium-driver`` (``python3 dev.py setup`` installs them), started with no
network of its own to reach (the flags keep it from calling Google's hosts at start)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1700",
)


def available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def start_chromium(profile: Path) -> Any:
    """A fresh headless Chromium (profile in ``profile``) keeping the console's messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
