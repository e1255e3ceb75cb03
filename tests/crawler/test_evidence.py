"""Evidence that holds up: exact bytes, a readable WARC, and tampering is detected."""

from __future__ import annotations

import io
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.demo.server import LocalSite
from crawler.evidence import capture, sha256_hex, store_file, verify
from crawler.scan import run_scan
from spiders.items import Document
from support.evidence import flip_byte
from support.scanning import demo_sources, make_config

WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def a_document(body: bytes = b"<p>Bentilee Nursery School is great</p>") -> Document:
    return Document(source="forum", url="http://forum.example/t/1", body=body, status=200,
                    headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
                    fetched_url="http://forum.example/t/1", text="Bentilee Nursery School is great")


def test_capture_keeps_the_exact_bytes_text_and_a_warc_record(tmp_path: Path) -> None:
    document = a_document()
    evidence = capture(tmp_path, document, WHEN)
    assert (tmp_path / evidence.raw_path).read_bytes() == document.body
    assert evidence.raw_sha256 == sha256_hex(document.body)
    assert (tmp_path / evidence.text_path).read_text(encoding="utf-8") == document.text
    with open(tmp_path / evidence.warc_path, "rb") as handle:
        records = list(ArchiveIterator(handle))
    assert len(records) == 1
    record = records[0]
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == "http://forum.example/t/1"
    assert record.rec_headers.get_header("WARC-Date") == "2026-11-20T09:30:00Z"
    assert record.http_headers.get_statuscode() == "200"
    assert record.http_headers.get_header("Content-Encoding") is None  # the body is kept decoded


def test_warc_payload_is_the_raw_body(tmp_path: Path) -> None:
    document = a_document(b"\x00\xffbinary and Bentilee")
    evidence = capture(tmp_path, document, WHEN)
    with open(tmp_path / evidence.warc_path, "rb") as handle:
        record = next(iter(ArchiveIterator(handle)))
        assert record.content_stream().read() == document.body


def test_verify_reports_changed_and_missing_files(tmp_path: Path) -> None:
    evidence = capture(tmp_path, a_document(), WHEN)
    expected = [(evidence.raw_path, evidence.raw_sha256), (evidence.text_path, evidence.text_sha256),
                (evidence.warc_path, evidence.warc_sha256)]
    assert verify(tmp_path, expected) == (3, [])
    (tmp_path / evidence.text_path).write_text("Bentilee Nursery School is terrible", encoding="utf-8")
    (tmp_path / evidence.warc_path).unlink()
    checked, bad = verify(tmp_path, expected)
    assert checked == 3
    assert {(b.path, b.problem.split(" ")[0]) for b in bad} == {(evidence.text_path, "changed"),
                                                               (evidence.warc_path, "missing")}


def test_the_same_bytes_are_stored_once_but_each_capture_has_its_own_warc_record(tmp_path: Path) -> None:
    first = capture(tmp_path, a_document(), WHEN)
    second = capture(tmp_path, a_document(), WHEN)
    assert (first.raw_path, first.text_path) == (second.raw_path, second.text_path)
    assert first.warc_path != second.warc_path  # a WARC record has a unique record ID
    assert len(list(tmp_path.rglob("*.raw"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_store_file_moves_a_finished_file_in_by_its_hash_and_shares_the_same_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    first = tmp_path / "archive" / ".shot-1.png"
    first.parent.mkdir()
    first.write_bytes(b"\x89PNG fake picture")
    relative, digest = store_file(archive, first, ".png")
    assert relative == f"{digest[:2]}/{digest}.png" and digest == sha256_hex(b"\x89PNG fake picture")
    assert (archive / relative).read_bytes() == b"\x89PNG fake picture" and not first.exists()

    os.utime(archive / relative, (1_000_000, 1_000_000))  # long ago
    second = archive / ".shot-2.png"
    second.write_bytes(b"\x89PNG fake picture")
    assert store_file(archive, second, ".png") == (relative, digest)
    assert not second.exists() and len(list(archive.rglob("*.png"))) == 1
    assert (archive / relative).stat().st_mtime > 1_000_000  # reused: renewed, so a purge now leaves it


def test_verify_detects_one_flipped_byte(tmp_path: Path) -> None:
    evidence = capture(tmp_path, a_document(), WHEN)
    expected = [(evidence.warc_path, evidence.warc_sha256)]
    flip_byte(tmp_path / evidence.warc_path)
    checked, bad = verify(tmp_path, expected)
    assert checked == 1 and [b.path for b in bad] == [evidence.warc_path] and bad[0].problem.startswith("changed")


def test_every_warc_record_of_a_scan_replays_with_its_address_and_exact_body(tmp_path: Path,
                                                                           demo_site: LocalSite) -> None:
    config = make_config(tmp_path, demo_sources(demo_site.base_url))
    assert run_scan(config).status == "finished"
    with sqlite3.connect(tmp_path / "schoolwatch.db") as db:
        rows = db.execute("SELECT m.url, r.raw_path, r.warc_path, r.warc_sha256 FROM revisions r "
                          "JOIN mentions m ON m.id = r.mention_id").fetchall()
    assert len(rows) >= 10
    archive = config.storage.archive
    for url, raw_path, warc_path, warc_sha in rows:
        data = (archive / warc_path).read_bytes()
        assert sha256_hex(data) == warc_sha
        records = list(ArchiveIterator(io.BytesIO(data)))
        assert [r.rec_type for r in records] == ["response"]
        with open(archive / warc_path, "rb") as handle:  # read again, streaming, as a replay tool does
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Target-URI") == url
            assert record.http_headers.get_statuscode() == "200"
            assert record.content_stream().read() == (archive / raw_path).read_bytes()
