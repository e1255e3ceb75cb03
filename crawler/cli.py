"""The ``schoolwatch`` command. The only place errors become messages and exit codes.

Exit codes: 0 done; 1 done but something needs attention (a crawl crash, altered evidence);
2 the config (or a flag) is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from crawler.config import Config, load_config
from crawler.errors import ConfigError, SchoolwatchError

EXIT_OK, EXIT_ATTENTION, EXIT_CONFIG = 0, 1, 2


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


# --- scan ------------------------------------------------------------------------------------

def cmd_scan(args: argparse.Namespace) -> int:
    from crawler.report import ProgressPrinter, print_summary
    from crawler.scan import run_scan

    config = _config(args)
    printer = None if args.json else ProgressPrinter(sys.stderr)
    summary = run_scan(config, only=args.source, on_event=printer)
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        print_summary(summary, sys.stdout)
    return EXIT_OK if summary.status == "finished" else EXIT_ATTENTION


# --- mentions --------------------------------------------------------------------------------

def parse_since(value: str, timezone: str) -> datetime:
    """ISO date or date-time; without a zone it is the school's local time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError("--since", [f"--since {value!r} is not an ISO date such as 2026-11-20 "
                                      "or 2026-11-20T09:00"]) from None
    if len(value) <= 10:
        moment = datetime.combine(moment.date(), time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def cmd_mentions(args: argparse.Namespace) -> int:
    from crawler.queries import mentions_since
    from crawler.report import mentions_table

    config = _config(args)
    since = parse_since(args.since, config.school.timezone) if args.since else None
    records = mentions_since(config, since)
    if args.json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    else:
        print(mentions_table(records) if records else "No mentions stored yet.")
    return EXIT_OK


# --- verify ----------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> int:
    from crawler.queries import verify_archive

    config = _config(args)
    checked, bad = verify_archive(config)
    if args.json:
        print(json.dumps({"checked": checked, "problems": [{"path": b.path, "problem": b.problem} for b in bad]}))
    elif bad:
        print(f"{len(bad)} of {checked} evidence files are missing or changed since capture:")
        for item in bad:
            print(f"  {config.storage.archive / item.path}: {item.problem}")
    else:
        print(f"All {checked} evidence files match the SHA-256 recorded at capture.")
    return EXIT_ATTENTION if bad else EXIT_OK


# --- classify --------------------------------------------------------------------------------

def cmd_classify(args: argparse.Namespace) -> int:
    from crawler import tone

    rules = load_config(args.config).classify if (args.config or _default_config_exists()) else None
    lines = (line.rstrip("\r\n") for line in sys.stdin)
    for judgement in tone.classify_many(lines, rules=rules):
        if args.json:
            sys.stdout.write(json.dumps(judgement.as_dict(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(f"{judgement.tone:8}  {judgement.severity:6}  {', '.join(judgement.concerns) or '-'}\n")
    sys.stdout.flush()
    return EXIT_OK


def _default_config_exists() -> bool:
    from crawler.config import config_path

    return config_path(None).exists()


# --- demo ------------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.demo.run import run_demo

    return run_demo(args.data, json_output=args.json, keep_serving=args.serve)


# --- wiring ----------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "scan": (cmd_scan, "scan the configured sources now and store what mentions the school"),
    "mentions": (cmd_mentions, "list stored mentions (newest first)"),
    "verify": (cmd_verify, "re-hash the evidence archive and report any file that changed"),
    "classify": (cmd_classify, "judge tone and concerns of texts read from stdin, one per line"),
    "demo": (cmd_demo, "serve the bundled demo sources on 127.0.0.1, scan them and show the results"),
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="config file (default: $SCHOOLWATCH_CONFIG, else ./schoolwatch.yaml)")
    parser = argparse.ArgumentParser(prog="schoolwatch", description="Watch the public web for mentions of a school.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (func, help_text) in COMMANDS.items():
        command = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        command.set_defaults(func=func)
        command.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "scan":
            command.add_argument("--source", action="append", metavar="NAME",
                                 help="scan only this source (repeat for more)")
        if name == "mentions":
            command.add_argument("--since", metavar="ISO", help="only mentions new or changed since this date/time")
        if name == "demo":
            command.add_argument("--data", default="demo-data", metavar="DIR",
                                 help="fresh folder for the demo's database and archive (default: demo-data)")
            command.add_argument("--serve", action="store_true",
                                 help="keep serving the demo sources after the scan, until Ctrl-C")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"schoolwatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SchoolwatchError as exc:
        print(f"schoolwatch: {exc}", file=sys.stderr)
        return EXIT_ATTENTION
    except KeyboardInterrupt:
        print("schoolwatch: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
