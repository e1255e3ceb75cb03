"""The evidence archive: what was fetched, exactly, and proof that it has not changed since.

For every captured mention we keep three files, named by the SHA-256 of their content:
the raw response body, the extracted text we judged, and a WARC record (warcio) holding
the response with its HTTP headers, the format web archives and courts already know.
Beside them, by the same rule, a full-page screenshot of each alerted mention
(``crawler/screenshots.py``) and each printed Online Incident Record (``alerts/incident.py``).
The hashes are written to the database at capture; ``schoolwatch verify`` re-hashes the
files and reports any that are missing or changed.

Files are written before the database row (atomically, via a temporary name), so a crash
can leave an unreferenced file but never a row pointing at nothing. A file already there is
shared (the same bytes, the same name) and its modification time is renewed, which tells
``schoolwatch purge`` that a new row may be about to point at it.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from spiders.items import Document

_REASONS = {200: "OK", 203: "Non-Authoritative Information", 206: "Partial Content"}


@dataclass(frozen=True)
class Evidence:
    raw_path: str  # relative to the archive folder
    raw_sha256: str
    text_path: str
    text_sha256: str
    warc_path: str
    warc_sha256: str


@dataclass(frozen=True)
class Tampered:
    path: str
    problem: str  # "missing" or "changed (expected …, found …)"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_digest(text: str) -> str:
    """The digest dedupe compares: an edit to the post changes it, a re-fetch does not."""
    return sha256_hex(text.encode("utf-8"))


def archive_name(digest: str, suffix: str) -> str:
    """Where a file with this SHA-256 lives, relative to the archive folder."""
    return f"{digest[:2]}/{digest}{suffix}"


def _store(archive: Path, digest: str, suffix: str, data: bytes) -> str:
    relative = archive_name(digest, suffix)
    target = archive / relative
    if _reuse(target):
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return relative


def _reuse(target: Path) -> bool:
    """True when the file is there already: renew its time, so a purge running now leaves it alone."""
    try:
        os.utime(target)
        return True
    except FileNotFoundError:
        return False


def store_file(archive: Path, source: Path, suffix: str) -> tuple[str, str]:
    """Move a finished file (a screenshot, a PDF) into the archive under its SHA-256.

    ``source`` should be on the archive's file system (a temporary name inside it), so the
    move is one atomic rename. Returns the relative name and the digest.
    """
    digest = file_sha256(source)
    relative = archive_name(digest, suffix)
    target = archive / relative
    if _reuse(target):
        source.unlink(missing_ok=True)
        return relative, digest
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    return relative, digest


def warc_record(document: Document, captured_at: datetime) -> bytes:
    """One gzip'd WARC response record: the body with the HTTP status and headers we got."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    status = f"{document.status} {_REASONS.get(document.status, 'OK')}"
    headers = [(k, v) for k, v in document.headers
               if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]  # body is stored decoded
    http_headers = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    record = writer.create_warc_record(
        document.fetched_url or document.url, "response", payload=io.BytesIO(document.body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    writer.write_record(record)
    return buffer.getvalue()


def capture(archive: Path, document: Document, captured_at: datetime) -> Evidence:
    """Write the three evidence files for a mention and return their names and hashes."""
    raw_sha = sha256_hex(document.body)
    text_bytes = document.text.encode("utf-8")
    text_sha = sha256_hex(text_bytes)
    warc = warc_record(document, captured_at)
    warc_sha = sha256_hex(warc)
    return Evidence(
        raw_path=_store(archive, raw_sha, ".raw", document.body), raw_sha256=raw_sha,
        text_path=_store(archive, text_sha, ".txt", text_bytes), text_sha256=text_sha,
        warc_path=_store(archive, warc_sha, ".warc.gz", warc), warc_sha256=warc_sha,
    )


def verify(archive: Path, expected: Iterable[tuple[str, str]]) -> tuple[int, list[Tampered]]:
    """Re-hash each (relative path, expected SHA-256); return how many were checked and the bad ones."""
    checked, bad = 0, []
    seen: set[str] = set()
    for relative, digest in expected:
        if relative in seen:
            continue
        seen.add(relative)
        checked += 1
        path = archive / relative
        try:
            found = file_sha256(path)
        except FileNotFoundError:
            bad.append(Tampered(relative, "missing"))
            continue
        if found != digest:
            bad.append(Tampered(relative, f"changed (recorded {digest[:12]}…, now {found[:12]}…)"))
    return checked, bad


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (screenshots and PDFs may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
