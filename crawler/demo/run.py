"""``schoolwatch demo``: serve the demo sources, scan them into a fresh folder, show the results."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from alerts.relay import deliver
from crawler.config import load_config
from crawler.demo.server import serve
from crawler.errors import SchoolwatchError
from crawler.queries import mentions_since
from crawler.report import ProgressPrinter, mentions_table, print_summary
from crawler.scan import run_scan

HERE = Path(__file__).parent
MARKER = ".schoolwatch-demo"


def fresh_folder(folder: Path) -> None:
    """Empty the demo folder, but never a folder the demo did not make."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise SchoolwatchError(f"{folder} already exists and was not made by the demo; "
                                   f"choose another folder with --data")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `schoolwatch demo`; safe to delete\n", encoding="utf-8")


def run_demo(data_dir: str, json_output: bool = False, keep_serving: bool = False) -> int:
    folder = Path(data_dir).resolve()
    fresh_folder(folder)
    site = serve(HERE / "site")
    try:
        config_file = folder / "schoolwatch.yaml"
        config_file.write_text((HERE / "demo.yaml").read_text(encoding="utf-8").replace("{{BASE}}", site.base_url),
                               encoding="utf-8")
        config = load_config(config_file)
        printer = None if json_output else ProgressPrinter(sys.stderr)
        if printer:
            printer.say(f"Demo sources are served at {site.base_url}; data goes to {folder}\n")
        summary = run_scan(config, on_event=printer, trigger="demo")
        records = mentions_since(config)
        alerts = deliver(config)
        if json_output:
            print(json.dumps({"scan": summary.as_json(), "mentions": records, "alerts": alerts.as_json(),
                              "mailbox": str(config.storage.mailbox), "config": str(config_file)}))
        else:
            print_summary(summary, sys.stdout)
            print()
            print(mentions_table(records) if records else "No mentions found.")
            print(f"\n{alerts.messages} alert email(s) for the SLT are in {config.storage.mailbox} "
                  f"(.eml files: open them with any mail program).")
            print(f"\nThe demo's config is {config_file}. Try:\n"
                  f"  schoolwatch mentions --config {config_file}\n"
                  f"  schoolwatch cases --config {config_file}\n"
                  f"  schoolwatch alerts --config {config_file}\n"
                  f"  schoolwatch verify --config {config_file}"
                  + "".join(f"\n  schoolwatch incident {r['id']} --config {config_file} --out {folder / 'incident.pdf'}"
                            for r in [r for r in records if r["severity"] == "urgent"][:1]))
        if keep_serving:
            print(f"\nServing the demo sources at {site.base_url} until Ctrl-C ...", file=sys.stderr)
            while True:
                time.sleep(3600)
    finally:
        site.stop()
    return 0 if summary.status == "finished" else 1
