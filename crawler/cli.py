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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from crawler.config import Config, load_config
from crawler.errors import ConfigError, SchoolwatchError

if TYPE_CHECKING:
    from alerts.relay import DeliveryReport

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
    alerts = None if args.no_alerts else _deliver_after_scan(config)
    if args.json:
        print(json.dumps({**summary.as_json(), **({"alerts": alerts.as_json()} if alerts else {})}))
    else:
        print_summary(summary, sys.stdout)
        if alerts is not None:
            _print_delivery(alerts)
    return EXIT_OK if summary.status == "finished" else EXIT_ATTENTION


def _deliver_after_scan(config: Config) -> "DeliveryReport":
    """A scan's alerts go out straight away; what cannot go now waits in the outbox."""
    from alerts.relay import deliver

    return deliver(config)


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
    backend = args.backend or (rules.backend if rules else "linear")
    try:  # loads the backend: a missing extra is an error message, not a traceback
        judgements = tone.classify_many((line.rstrip("\r\n") for line in sys.stdin), rules=rules, backend=backend)
    except RuntimeError as exc:
        print(f"schoolwatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for judgement in judgements:
        if args.json:
            sys.stdout.write(json.dumps(judgement.as_dict(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(f"{judgement.tone:8}  {judgement.severity:6}  {', '.join(judgement.concerns) or '-'}\n")
    sys.stdout.flush()
    return EXIT_OK


def _default_config_exists() -> bool:
    from crawler.config import config_path

    return config_path(None).exists()


# --- alerts, deliver -------------------------------------------------------------------------

def cmd_alerts(args: argparse.Namespace) -> int:
    from alerts.outbox import delivery_records
    from crawler.display import table

    records = delivery_records(_config(args))
    if args.json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("No alerts yet.")
        return EXIT_OK
    counts = {s: sum(r["status"] == s for r in records) for s in ("pending", "sent", "failed")}
    print(f"{counts['pending']} pending, {counts['sent']} sent, {counts['failed']} failed\n")
    rows = [[str(r["id"] or "-"), r["status"], r["channel"] or "-", r["kind"], str(r["case"] or "-"),
             str(r["attempts"]), (r["sent_at"] or r["next_attempt_at"] or r["created_at"] or "")[:16],
             r["reason"] or r["about"]] for r in records]
    print(table(["id", "status", "channel", "kind", "case", "tries", "when (UTC)", "reason / about"], rows,
                [5, 7, 7, 16, 5, 5, 16, 60]))
    return EXIT_OK


def cmd_deliver(args: argparse.Namespace) -> int:
    from alerts.relay import deliver

    report = deliver(_config(args), force=True, retry_failed=args.retry_failed)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        _print_delivery(report)
    return EXIT_ATTENTION if report.waiting or report.failed else EXIT_OK


def _print_delivery(report: "DeliveryReport") -> None:
    if report.busy:
        print("Alerts: another delivery is running now; it will send what is pending.")
        return
    sent = ", ".join(f"{channel} {count}" for channel, count in sorted(report.sent.items())) or "nothing new"
    print(f"Alerts sent: {sent} ({report.messages} message(s)).")
    for channel, reason in report.waiting.items():
        print(f"Alerts waiting to retry {channel}: {reason}")
    for channel, reason in report.failed.items():
        print(f"Alerts failed on {channel}: {reason}. Fix it, then run `schoolwatch deliver --retry-failed`.")


# --- cases -----------------------------------------------------------------------------------

def cmd_cases(args: argparse.Namespace) -> int:
    from alerts.cases import list_cases
    from crawler.display import table

    config = _config(args)
    records = list_cases(config, open_only=args.open, overdue_only=args.overdue)
    if args.json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("No cases." if not (args.open or args.overdue) else "No cases match.")
        return EXIT_OK
    zone = ZoneInfo(config.school.timezone)
    rows = [[str(r["id"]), "OVERDUE" if r["overdue"] else r["status"], r["severity"],
             datetime.fromisoformat(r["due"]).astimezone(zone).strftime("%a %d %b %H:%M"),
             ", ".join(r["concerns"]) or (r["tone"] or ""), r["title"] or r["url"]] for r in records]
    print(table(["case", "status", "severity", "due", "concerns", "title"], rows, [5, 12, 8, 16, 22, 60]))
    return EXIT_OK


def _case_action(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from alerts.cases import act

        record = act(_config(args), args.id, action, args.by, getattr(args, "note", None))
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(f"Case {record['id']} is now {record['status']} (due {record['due']}).")
        return EXIT_OK
    return run


# --- sources, init ---------------------------------------------------------------------------

def cmd_sources(args: argparse.Namespace) -> int:
    from crawler.starter import source_kinds, sources_text

    if args.json:
        print(json.dumps([kind.as_json() for kind in source_kinds(args.kind)], ensure_ascii=False))
    else:
        sys.stdout.write(sources_text(args.kind))
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from crawler.config import config_path
    from crawler.starter import write_starter

    path = config_path(args.config)
    write_starter(path, args.name, args.website, force=args.force)
    config = load_config(path)  # what was written must load
    names = [source.name for source in config.sources]
    if args.json:
        print(json.dumps({"path": str(path), "school": config.school.name, "aliases": config.school.aliases,
                          "sources": names}, ensure_ascii=False))
    else:
        print(f"Wrote {path} for {config.school.name}: {len(names)} sources ({', '.join(names)}); "
              f"suggested aliases: {', '.join(config.school.aliases) or 'none'}.\n"
              "Check the lines marked CHECK, set up a Google Alert (the file says how), "
              "then run `schoolwatch scan`.")
    return EXIT_OK


# --- the service: run, status, digest --------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from scheduler import run_service

    return run_service(_config(args))


def cmd_status(args: argparse.Namespace) -> int:
    from alerts.status import needs_attention, status

    config = _config(args)
    report = status(config)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_status(report, ZoneInfo(config.school.timezone))
    return EXIT_ATTENTION if needs_attention(report) else EXIT_OK


def _local(value: str | None, zone: ZoneInfo, empty: str = "-") -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%a %d %b %H:%M") if value else empty


def _print_status(report: dict, zone: ZoneInfo) -> None:
    from crawler.display import clean, table

    service = report["service"]
    if service["running"]:
        print(f"Service: running on {service['host']} (pid {service['pid']}) since "
              f"{_local(service['started_at'], zone)}; last heartbeat {service['heartbeat_age_seconds']:g} s ago.")
    elif service["state"] == "never started":
        print("Service: NOT RUNNING: it has never been started on this database (`schoolwatch run`).")
    elif service["state"] == "stopped":
        print(f"Service: NOT RUNNING: stopped cleanly {_local(service['stopped_at'], zone)}.")
    else:
        print(f"Service: NOT RUNNING: last heartbeat {_local(service['heartbeat_at'], zone)}, and it did not stop "
              f"cleanly (killed, crashed, or the machine went down).")
    rows = [[s["name"], ("scanning" if s["scanning"] else s["state"]) if s["state"] != "failing"
             else f"FAILING since {_local(s['failing_since'], zone)}", _local(s["last_scan_at"], zone, "never"),
             _local(s["last_ok_at"], zone, "never"),
             ("~" if s["next_run_estimated"] else "") + _local(s["next_run_at"], zone), s["reason"] or ""]
            for s in report["sources"]]
    print()
    print(table(["source", "state", "last scan", "last success", "next run", "reason"], rows,
                [20, 26, 16, 16, 17, 60]) if rows else "No sources configured.")
    if any(s["next_run_estimated"] for s in report["sources"]):
        print("(~ the service is not running: when it starts, a source overdue is scanned at once)")
    alerts, cases = report["alerts"], report["cases"]
    print(f"\nAlerts: {alerts['pending']} pending, {alerts['failed']} failed (`schoolwatch alerts` lists them).")
    for item in alerts["failed_list"][:5]:
        print(f"  failed on {item['channel']}: {item['kind']}: {clean(item['reason'], 150)}")
    print(f"Cases: {cases['open']} open, {cases['overdue']} overdue (`schoolwatch cases --open`).")
    for case in cases["overdue_list"][:10]:
        print(f"  OVERDUE case {case['id']} ({case['severity']}), was due {_local(case['due'], zone)}: "
              f"{clean(case['title'] or case['url'], 80)}")
    digest = report["digest"]
    print(f"Next weekly digest: {_local(digest['next'], zone)} to {', '.join(digest['to']) or 'no channel'}.")


def cmd_digest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from alerts import digest

    config = _config(args)
    data = digest.build(config, args.week)
    if args.out:
        Path(args.out).write_text(digest.html(data, config), encoding="utf-8")
    report, queued = None, None
    if args.send:
        queued = digest.queue_digest(config, data)
        report = _deliver_after_scan(config)
    if args.json:
        print(json.dumps({**data, **({"queued": queued, "alerts": report.as_json()} if report else {})},
                         ensure_ascii=False))
        return EXIT_OK
    print(digest.text(data, config))
    if args.out:
        print(f"Written to {args.out} (the chart is inside the file).")
    if report is not None:
        if not queued:
            print(f"The digest of {data['week']} had been queued before: it goes once per channel "
                  f"(`schoolwatch alerts` shows how it went).")
        _print_delivery(report)
    return EXIT_ATTENTION if report is not None and (report.waiting or report.failed) else EXIT_OK


# --- evidence: the Online Incident Record, retention -------------------------------------------

def cmd_incident(args: argparse.Namespace) -> int:
    from pathlib import Path

    from alerts.incident import write_incident

    config = _config(args)
    pdf = Path(args.out) if args.out else None
    html = Path(args.html) if args.html else None
    if pdf is None and html is None:
        pdf = Path(f"incident-{args.id}.pdf")
    result = write_incident(config, args.id, pdf=pdf, html=html)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return EXIT_OK
    if result.html:
        print(f"Online Incident Record {args.id} written as HTML: {result.html}")
    if result.pdf:
        print(f"Online Incident Record {args.id} printed to {result.pdf} (A4).\n"
              f"SHA-256 {result.sha256}; kept in the evidence archive as {result.archived}.")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from crawler.display import clean
    from crawler.purge import purge

    config = _config(args)
    report = purge(config, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return EXIT_OK
    verb = "Would remove" if args.dry_run else "Removed"
    retention = config.retention
    print(f"Retention: mentions without a case {retention.mentions_days} days after last seen; closed cases "
          f"{retention.incidents_days} days after closing; open and escalated cases are always kept.")
    if not report.mentions:
        print("Nothing is old enough to remove." if not args.dry_run else "Nothing would be removed.")
    else:
        print(f"{verb} {len(report.mentions)} mention(s) with their evidence ({len(report.files)} file(s)):")
        for item in report.mentions:
            print(f"  [{item.mention_id}] {clean(item.source, 30)} {clean(item.url, 120)}: {item.reason}")
    if report.shared:
        print(f"{len(report.shared)} evidence file(s) of these stay: other mentions share them.")
    if report.kept:
        print(f"Kept {len(report.kept)} old mention(s):")
        for item in report.kept:
            print(f"  [{item['id']}] {clean(item['url'], 120)}: {item['reason']}")
    if report.notices:
        print(f"{verb} {report.notices} old notice(s) (digests, source health) from the outbox.")
    if report.orphans:
        print(f"{verb} {len(report.orphans)} archive file(s) that nothing refers to.")
    if report.log:
        print(f"Logged to {report.log}")
    return EXIT_OK


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
    "alerts": (cmd_alerts, "list the outbox: alerts pending, sent and failed, with reasons"),
    "deliver": (cmd_deliver, "send every pending alert now (email, Slack or the mailbox folder)"),
    "cases": (cmd_cases, "list cases with their response deadlines (most pressing first)"),
    "ack": (_case_action("ack"), "record that you have seen a case"),
    "respond": (_case_action("respond"), "record the response to a case"),
    "close": (_case_action("close"), "close a case, saying how it ended"),
    "sources": (cmd_sources, "list the kinds of source, one line each, with an example config block"),
    "init": (cmd_init, "write a commented starter config for a school from its name and website"),
    "demo": (cmd_demo, "serve the bundled demo sources on 127.0.0.1, scan them and show the results"),
    "run": (cmd_run, "run the always-on service: scheduled scans, alerts, reminders, the weekly digest"),
    "status": (cmd_status, "is the service running; each source's health and next scan; alerts and cases waiting"),
    "digest": (cmd_digest, "build the weekly digest (print it, save it as HTML, or send it)"),
    "incident": (cmd_incident, "print the Online Incident Record of a mention or case (A4 PDF, or HTML)"),
    "purge": (cmd_purge, "delete mentions and evidence past the retention period (never open or escalated cases)"),
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
            command.add_argument("--no-alerts", action="store_true",
                                 help="leave the alerts in the outbox (the service or `deliver` sends them)")
        if name == "classify":
            command.add_argument("--backend", choices=("linear", "minilm"),
                                 help="tone model (default: classify.backend in the config, else linear; "
                                      "minilm needs the transformer extra)")
        if name == "mentions":
            command.add_argument("--since", metavar="ISO", help="only mentions new or changed since this date/time")
        if name == "deliver":
            command.add_argument("--retry-failed", action="store_true",
                                 help="also retry alerts that failed for good (after fixing the settings)")
        if name == "cases":
            command.add_argument("--open", action="store_true", help="only cases still waiting for a response")
            command.add_argument("--overdue", action="store_true", help="only cases past their deadline")
        if name in ("ack", "respond", "close"):
            command.add_argument("id", type=int, metavar="ID", help="the case number (the mention's id)")
            command.add_argument("--by", required=True, metavar="NAME", help="who is doing this")
            if name != "ack":
                command.add_argument("--note", required=True, metavar="TEXT", help="what was done")
        if name == "sources":
            command.add_argument("kind", nargs="?", metavar="KIND", help="show only this kind")
        if name == "init":
            command.add_argument("--name", required=True, help="the school's name as people write it")
            command.add_argument("--website", required=True, metavar="URL", help="the school's website")
            command.add_argument("--force", action="store_true", help="replace the config file if it exists")
        if name == "digest":
            command.add_argument("--week", metavar="YYYY-Www", help="the ISO week, e.g. 2026-W47 "
                                 "(default: the last full week, Monday to Sunday, in the school's time zone)")
            command.add_argument("--send", action="store_true",
                                 help="send it through the channels of digest.to (once per week)")
            command.add_argument("--out", metavar="FILE.html", help="also write it as one HTML file, chart inside")
        if name == "incident":
            command.add_argument("id", type=int, metavar="ID", help="the mention's id, which is also its case number")
            command.add_argument("--out", metavar="FILE.pdf",
                                 help="print it to this A4 PDF (needs Chromium; default incident-ID.pdf)")
            command.add_argument("--html", metavar="FILE.html", help="write it as one HTML file (no Chromium needed)")
        if name == "purge":
            command.add_argument("--dry-run", action="store_true", help="only list what would be removed")
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
