"""Helpers for the evidence tests: is there a Chromium and poppler, copies of a scanned folder, PDFs read back."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from crawler.browser import find_chromium

CHROMIUM = find_chromium("auto")
POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfimages", "pdfinfo"))
IN_CI = bool(os.environ.get("CI"))

if IN_CI and (CHROMIUM is None or not POPPLER):
    raise RuntimeError("Chromium or poppler-utils is missing in CI: `make test` should have installed them "
                       "(make system-deps)")

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: `make system-deps` "
                                                             "installs Debian's chromium package")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfimages) missing: "
                                                       "`make system-deps`")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def copy_scan(source: Path, target: Path) -> None:
    """The database and archive of a scanned folder, for a test to change freely."""
    target.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source / "schoolwatch.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source / "schoolwatch.db", target / "schoolwatch.db")
    shutil.copytree(source / "archive", target / "archive")


def pdf_text(path: Path) -> str:
    """The PDF's text (pdftotext, reading order), with runs of spaces made one."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", out.decode("utf-8"))


def pdf_images(path: Path) -> list[dict[str, str]]:
    """``pdfimages -list``: one row per image drawn (page, width, height, ...)."""
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    lines = out.splitlines()
    header = lines[0].split()
    return [dict(zip(header, line.split())) for line in lines[2:] if line.strip()]


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Change one byte of a file (in the middle, by default), as tampering or bit rot would."""
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
