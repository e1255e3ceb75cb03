"""Step 6: write what the scan found, in batches, each batch one transaction.

A batch holds documents (their validators for the next conditional GET), mentions, their
revisions with evidence, and the outbox rows that will alert the SLT: all or nothing, so a
crash mid-scan leaves no half rows, and what was not committed is simply fetched again
next scan. Whether a mention is new, edited or the same is decided here, inside the
transaction, so two sources finding the same post at once cannot both call it new.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from twisted.python.failure import Failure

from crawler.evidence import Evidence, capture, text_digest
from crawler.health import record_failure, record_success
from crawler.pipeline.step import Step
from crawler.records import mention_record
from crawler.storage import Document as DocumentRow
from crawler.storage import Mention, Outbox, Revision, ScanRun, Source, utcnow
from spiders.items import Document, SourceProblem

BATCH_SIZE = 500
MAX_WAIT = 2.0  # seconds a found mention may wait in the batch before it is committed
MAX_WARNINGS = 50  # per source per scan: a broken site should not flood the report


class StoreStep(Step):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.pending: list[Document] = []
        self.problems: list[SourceProblem] = []
        self.counts: Counter[str] = Counter()
        self.oldest_mention: float | None = None
        self.source_id = 0
        self.known_ids: dict[str, int] = {}
        self.heard_anything = False
        crawler.signals.connect(self.internal_error, signal=signals.item_error)
        crawler.signals.connect(self.internal_error, signal=signals.spider_error)

    def open_spider(self) -> None:
        options = self.crawler.spider.options  # type: ignore[union-attr]
        with self.context.sessions.begin() as session:
            source = session.scalar(select(Source).where(Source.name == options.name))
            if source is None:
                source = Source(name=options.name, kind=options.kind, url=options.url, failures=0)
                session.add(source)
            source.kind, source.url = options.kind, options.url
            session.flush()
            self.source_id = source.id
            rows = session.execute(select(DocumentRow.url, DocumentRow.id).where(DocumentRow.source_id == source.id))
            self.known_ids = {url: row_id for url, row_id in rows}

    def process_item(self, item: Any) -> Any:
        self.heard_anything = True
        if isinstance(item, SourceProblem):
            self.problems.append(item)
            self.context.emit({"event": "problem", "source": item.source, "url": item.url,
                               "reason": item.reason, "fatal": item.fatal})
        elif isinstance(item, Document):
            if item.judge:
                self.counts["documents"] += 1
            if item.matches and self.oldest_mention is None:
                self.oldest_mention = time.monotonic()
            if not item.matches:
                item.body = b""  # only mentions keep their bytes, as evidence
            self.pending.append(item)
            waited = self.oldest_mention is not None and time.monotonic() - self.oldest_mention > MAX_WAIT
            if len(self.pending) >= BATCH_SIZE or waited:
                self.flush()
        return item

    def internal_error(self, failure: Failure, response: Response | None = None, **_: Any) -> None:
        """A bug of ours (a step or callback raised), not the source's fault: say so, never lose it quietly."""
        spider = self.crawler.spider
        url = response.url if response is not None else spider.options.url  # type: ignore[union-attr]
        self.problems.append(SourceProblem(
            spider.options.name, url,  # type: ignore[union-attr]
            f"internal error while processing this page ({failure.type.__name__}: {failure.getErrorMessage()[:200]}); "
            f"it was not stored: see the scan log", fatal=True))

    def close_spider(self) -> None:
        if self.context.stopping:  # asked to stop (the service is shutting down): keep what was found,
            self.flush()           # but do not judge the source's health on half a scan
            self.context.emit({"event": "source_stopped", "source": self.crawler.spider.name,  # type: ignore[union-attr]
                               "documents": self.counts["documents"], "new": self.counts["new"],
                               "updated": self.counts["updated"]})
            return
        if not self.heard_anything:  # no page, no error: something dropped the start request silently
            options = self.crawler.spider.options  # type: ignore[union-attr]
            self.problems.append(SourceProblem(options.name, options.url,
                                               "the address gave nothing to read and no error; see the scan log"))
        self.flush()
        self.record_health()
        self.context.emit({"event": "source_done", "source": self.crawler.spider.name,  # type: ignore[union-attr]
                           "documents": self.counts["documents"], "new": self.counts["new"],
                           "updated": self.counts["updated"],
                           "errors": [p.reason for p in self.problems if p.fatal]})

    def flush(self) -> None:
        batch, self.pending, self.oldest_mention = self.pending, [], None
        if not batch:
            return
        now = utcnow()
        counts: Counter[str] = Counter()
        events: list[dict[str, Any]] = []
        with self.context.sessions.begin() as session:
            self.store_documents(session, batch, now)
            for document in batch:
                if document.matches:
                    change = self.store_mention(session, document, now)
                    counts[change] += 1
                    if change != "same":
                        events.append({"event": "mention", "source": document.source, "change": change,
                                       "url": document.url, "title": document.title[:300],
                                       "tone": getattr(document.judgement, "tone", None),
                                       "severity": getattr(document.judgement, "severity", None)})
            session.execute(update(ScanRun).where(ScanRun.id == self.context.scan_run_id).values(
                documents=ScanRun.documents + sum(1 for d in batch if d.judge),
                mentions_new=ScanRun.mentions_new + counts["new"],
                mentions_updated=ScanRun.mentions_updated + counts["updated"]))
        self.counts.update(counts)
        for event in events:  # only once committed: a "new mention" shown is a mention stored
            self.context.emit(event)

    def store_documents(self, session: Session, batch: list[Document], now: datetime) -> None:
        """Validators for conditional GET: one bulk insert and one bulk update per batch."""
        inserts, updates, seen_unchanged = [], [], []
        for document in batch:
            if document.unchanged:
                seen_unchanged.append(document.url)
            if not document.track:
                continue
            row: dict[str, Any] = {"last_fetched": now, "status": document.status}
            if not document.unchanged:
                row.update(etag=document.etag, last_modified=document.last_modified, links=document.links)
            row_id = self.known_ids.get(document.url)
            if row_id is None:
                inserts.append({**row, "source_id": self.source_id, "url": document.url, "first_fetched": now})
            else:
                updates.append({**row, "id": row_id})
        if inserts:
            session.execute(insert(DocumentRow), inserts)
        if updates:
            session.execute(update(DocumentRow), updates)
        if seen_unchanged:
            session.execute(update(Mention).where(Mention.url.in_(seen_unchanged)).values(last_seen=now))
        if inserts:
            rows = session.execute(select(DocumentRow.url, DocumentRow.id).where(
                DocumentRow.source_id == self.source_id, DocumentRow.url.in_([r["url"] for r in inserts])))
            self.known_ids.update({url: row_id for url, row_id in rows})

    def store_mention(self, session: Session, document: Document, now: datetime) -> str:
        """Insert, revise or touch the mention; return "new", "updated" or "same"."""
        digest = text_digest(document.text)
        mention = session.scalar(select(Mention).where(Mention.url == document.url))
        if mention is not None and mention.text_sha256 == digest:
            mention.last_seen = now
            return "same"
        change = "new" if mention is None else "updated"
        if mention is None:
            mention = Mention(url=document.url, source_id=self.source_id, first_seen=now)
            session.add(mention)
        judgement = document.judgement
        mention.title = document.title[:1000]
        mention.snippet = document.matches[0].snippet
        mention.matched = list(dict.fromkeys(m.phrase for m in document.matches))
        mention.published = document.published
        mention.author = document.author[:500] or None
        mention.last_seen = now
        mention.text_sha256 = digest
        if judgement is not None:
            mention.tone, mention.scores = judgement.tone, dict(judgement.scores)
            mention.concerns, mention.severity, mention.why = list(judgement.concerns), judgement.severity, list(judgement.why)
        evidence: Evidence = document.evidence or capture(self.context.config.storage.archive, document, now)
        revision = Revision(
            mention=mention, captured_at=now, scan_run_id=self.context.scan_run_id,
            title=mention.title, snippet=mention.snippet, text_sha256=evidence.text_sha256,
            raw_sha256=evidence.raw_sha256, warc_sha256=evidence.warc_sha256,
            raw_path=evidence.raw_path, text_path=evidence.text_path, warc_path=evidence.warc_path)
        session.add(revision)
        session.flush()
        session.refresh(mention, ["revisions"])
        kind = f"mention.{change}"
        session.add(Outbox(kind=kind, idempotency_key=f"{kind}:{mention.id}:{revision.id}", mention_id=mention.id,
                           payload=mention_record(mention, self.context.config.storage.archive)))
        return change

    def record_health(self) -> None:
        """Keep the source's failure state; a change of state is one outbox row, not one per scan."""
        now = utcnow()
        fatal = [p for p in self.problems if p.fatal]
        partial = [p for p in self.problems if not p.fatal][:MAX_WARNINGS]
        with self.context.sessions.begin() as session:
            source = session.get_one(Source, self.source_id)
            if fatal:
                record_failure(session, source, fatal[0].reason, now)
            else:
                record_success(session, source, now)
            run = session.get_one(ScanRun, self.context.scan_run_id)
            run.errors = [*run.errors, *({"source": p.source, "url": p.url, "reason": p.reason} for p in fatal)]
            run.warnings = [*run.warnings, *({"source": p.source, "url": p.url, "reason": p.reason} for p in partial)]
