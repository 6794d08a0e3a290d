"""Shared by the browser tests: Debian's chromium driven by Playwright for Python, and the `slow` marker."""
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get('DIFFKIT_CHROMIUM', '/usr/bin/chromium')
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']


def pytest_configure(config):
    config.addinivalue_line('markers', "slow: starts a real server and browser (a minute or more); "
                                       "CI runs these too, `-m 'not slow'` leaves them out while developing")


@pytest.fixture(scope='session')
def browser():
    "A headless chromium for the whole test session."
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get update && apt-get install -y chromium` "
                    "(or set DIFFKIT_CHROMIUM to a chromium binary)", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
