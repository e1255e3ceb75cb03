"""Test helpers shared by every test folder: local servers, hostile routes, demo paths."""

from pathlib import Path

import crawler.demo

DEMO_DIR = Path(crawler.demo.__file__).resolve().parent  # demo.yaml, expected.yaml
DEMO_SITE = DEMO_DIR / "site"  # what the demo server serves
