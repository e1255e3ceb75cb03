"""What a person sees on the terminal: scan progress, the scan's outcome, the mentions table."""

from __future__ import annotations

import time
from typing import Any, TextIO

from crawler.display import clean, table
from crawler.scan import ScanSummary


class ProgressPrinter:
    """Turns the crawl's events into a line per step, per source (quiet on pages unless slow)."""

    def __init__(self, stream: TextIO, every: float = 2.0) -> None:
        self.stream = stream
        self.every = every
        self.last_progress: dict[str, float] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        kind, source = event.get("event"), clean(str(event.get("source", "")), 40)
        if kind == "source_started":
            self.last_progress[source] = time.monotonic()  # a quick source shows no page counts
            self.say(f"▶ {source}: scanning {clean(event.get('url'), 100)}")
        elif kind == "progress":
            now = time.monotonic()
            if now - self.last_progress.get(source, 0.0) >= self.every:
                self.last_progress[source] = now
                self.say(f"  {source}: {event.get('pages', 0)} pages fetched so far")
        elif kind == "mention":
            label = {"new": "new", "updated": "edited"}.get(str(event.get("change")), "")
            self.say(f"  + {label} mention on {source}: {clean(event.get('title'), 70) or clean(event.get('url'), 70)}"
                     f"  [{event.get('tone') or '?'}, {event.get('severity') or '?'}]")
        elif kind == "problem" and event.get("fatal"):
            self.say(f"  ✖ {source}: {clean(event.get('reason'), 200)}")
        elif kind == "skipped":
            self.say(f"⏭ {source}: skipped: {clean(event.get('reason'), 100)}")
        elif kind == "source_stopped":
            self.say(f"■ {source}: stopped before it finished; what it had found is kept")
        elif kind == "source_done":
            failed = "failed" if event.get("errors") else "done"
            self.say(f"{'✖' if event.get('errors') else '✔'} {source}: {failed}, {event.get('documents', 0)} documents read, "
                     f"{event.get('new', 0)} new and {event.get('updated', 0)} edited mentions")
        elif kind == "screenshot":
            what = f"taken in {event.get('seconds', 0):.1f} s" if event.get("ok") else clean(event.get("reason"), 150)
            self.say(f"  screenshot of {clean(event.get('url'), 80)}: {what}")

    def say(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def print_summary(summary: ScanSummary, stream: TextIO) -> None:
    stream.write(f"\nScan {summary.scan_run_id} {summary.status}: {summary.sources} sources, "
                 f"{summary.documents} documents, {summary.mentions_new} new mentions, "
                 f"{summary.mentions_updated} edited.\n")
    for item in summary.skipped:
        stream.write(f"Skipped {clean(item.get('source'), 40)}: {clean(item.get('reason'), 100)}.\n")
    if summary.errors:
        stream.write(f"{len(summary.errors)} source(s) could not be scanned (the others were):\n")
        for error in summary.errors:
            stream.write(f"  - {clean(error.get('source') or 'scan', 40)}: {clean(error.get('reason'), 300)}\n")
    if summary.warnings:
        stream.write(f"{len(summary.warnings)} page(s) inside sources were not read (the sources were):\n")
        for warning in summary.warnings[:5]:
            stream.write(f"  - {clean(warning.get('source'), 40)}: {clean(warning.get('url'), 100)}: "
                         f"{clean(warning.get('reason'), 200)}\n")
        if len(summary.warnings) > 5:
            stream.write("  ... the rest with `schoolwatch scan --json`\n")
    shots = summary.screenshots
    if shots is not None and shots.wanted:
        if shots.off and not shots.on_purpose:
            stream.write(f"Screenshots are off: {clean(shots.off, 300)}. The mentions and their other evidence "
                         "are kept.\n")
        elif shots.taken or shots.failed:
            stream.write(f"Screenshots: {shots.taken} of the {shots.wanted} alerted mentions"
                         + (f"; {len(shots.failed)} could not be taken (the reason is on each mention)"
                            if shots.failed else "") + ".\n")
    if summary.log and summary.status != "finished":
        stream.write(f"Details: {summary.log}\n")


def mentions_table(records: list[dict[str, Any]]) -> str:
    """Severity first, because that is what the SLT must act on."""
    rows = [[str(r["id"]), r["severity"] or "-", r["tone"] or "-", ", ".join(r["concerns"]) or "-",
             r["source"], r["title"] or r["url"]] for r in records]
    out = [table(["id", "severity", "tone", "concerns", "source", "title"], rows, [4, 8, 8, 22, 16, 50])]
    out.append("\nLinks and evidence:")
    for record in records:
        evidence = record.get("evidence") or {}
        out.append(f"  [{record['id']}] {clean(record['url'], 200)}")
        out.append(f"       snippet:  {clean(record['snippet'], 200)}")
        if evidence:
            out.append(f"       evidence: {evidence['text']}  (WARC: {evidence['warc']})")
            if evidence.get("screenshot"):
                out.append(f"       screenshot: {evidence['screenshot']}")
    return "\n".join(out)
