"""End-to-end scan throughput: schoolwatch against the same Scrapy crawl doing nothing per page.

Run: ``.venv/bin/python bench/scan.py [--pages 2000] [--page-kb 30] [--rounds 2]``.
Prints a table and writes bench/results/scan.json.

A site of ``--pages`` generated pages (bench/sitegen.py) is served on 127.0.0.1 by nginx
when it is installed (else by crawler/demo/server.py, which may itself be the bottleneck).
Each round runs, in that order, a baseline crawl and a real scan, each from a fresh
subprocess of this script (``--one baseline|schoolwatch``) so that its peak RSS
(``RUSAGE_CHILDREN``) belongs to that run alone:

* baseline: a plain Scrapy spider in a fresh ``python`` process, with schoolwatch's own
  Scrapy settings (``crawler.crawl_settings.scrapy_settings``) but no item pipelines and no
  extensions; it follows same-host links from ``/`` breadth-first to the same depth and does
  nothing else per page.
* schoolwatch: ``crawler.scan.run_scan`` on a fresh database (so no conditional GETs), which
  runs the crawl in its own child process, as a real scan does.

Both are timed as wall seconds around the whole crawl process (interpreter start and
imports included); pages/s = pages fetched / those seconds; ratio = ours / baseline (best
round of each). Scrapy's own ``elapsed_time_seconds`` from each process's log is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

RESULTS = ROOT / "bench" / "results" / "scan.json"
SCHOOL = {"name": "Bentilee Nursery School", "aliases": ["Bentilee Nursery"]}
DEPTH = 10


def make_config(base: str, tmp: Path) -> Any:
    from crawler.config import config_from_dict
    raw = {"school": SCHOOL,
           "storage": {"database": f"sqlite:///{tmp}/sw.db", "archive": f"{tmp}/archive"},
           "crawl": {"autothrottle": False, "concurrency": 16, "max_pages": 5000, "obey_robots": True},
           "sources": [{"name": "bench-site", "kind": "site", "url": base + "/", "depth": DEPTH,
                        "allow_private": True}]}
    return config_from_dict(raw)


def scrapy_stat(log_text: str, key: str) -> float | None:
    found = re.findall(rf"'{re.escape(key)}': ([0-9.]+)", log_text)
    return float(found[-1]) if found else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- the baseline crawl process -------------------------------------------------------------

def baseline_crawl(base: str, tmp: Path) -> None:
    """Runs in its own process: the same crawl as a scan, doing nothing per page."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor

    from crawler.crawl_settings import scrapy_settings

    config = make_config(base, tmp)
    settings = scrapy_settings(config)
    settings["ITEM_PIPELINES"] = {}
    settings["EXTENSIONS"] = {}
    options = config.sources[0]

    class Baseline(scrapy.Spider):
        name = "baseline"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.options = options  # AddressGuard reads options.allow_private
            self.known: dict = {}  # ConditionalGet: nothing known, like a fresh database
            self.host = urlsplit(options.url).hostname
            self.links = LinkExtractor(unique=True)
            self.seen = {options.url}
            self.pages = 0

        async def start(self):  # type: ignore[override]
            yield scrapy.Request(options.url, callback=self.parse, dont_filter=True)

        def parse(self, response):  # type: ignore[override]
            self.pages += 1
            if response.meta.get("depth", 0) >= options.depth:
                return
            for link in self.links.extract_links(response):
                url = link.url
                if urlsplit(url).hostname != self.host or url in self.seen:
                    continue
                self.seen.add(url)
                yield scrapy.Request(url, callback=self.parse)

        def closed(self, reason: str) -> None:
            print(json.dumps({"pages": self.pages}), flush=True)

    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(Baseline)
    process.start()


# --- one measured run, in a fresh process of its own ------------------------------------------

def one_run(kind: str, base: str, work: Path, expected_mentions: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    row: dict[str, Any] = {"run": kind}
    if kind == "baseline":
        log_path = work / "baseline.log"
        with open(log_path, "wb") as log:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--crawl-baseline",
                                   "--base", base, "--work", str(work)],
                                  stdout=subprocess.PIPE, stderr=log, text=True, check=True)
            seconds = time.perf_counter() - start
        pages = json.loads(done.stdout.strip().splitlines()[-1])["pages"]
    else:
        from crawler.scan import run_scan
        config = make_config(base, work)
        start = time.perf_counter()
        summary = run_scan(config)
        seconds = time.perf_counter() - start
        log_path = Path(summary.log or "")
        pages = summary.documents
        row.update(status=summary.status, mentions_new=summary.mentions_new,
                   mentions_expected=expected_mentions,
                   all_mentions_found=summary.mentions_new == expected_mentions,
                   errors=len(summary.errors))
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    row.update(pages=pages, seconds=round(seconds, 3), pages_per_s=round(pages / seconds, 1),
               scrapy_elapsed_s=_round(scrapy_stat(text, "elapsed_time_seconds")),
               responses=scrapy_stat(text, "response_received_count"),
               peak_rss_mb=round(max(after, before) / 1024, 1), log=str(log_path))
    return row


# --- the web server ----------------------------------------------------------------------------

class Nginx:
    def __init__(self, root: Path, prefix: Path) -> None:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
""")
        self.proc = subprocess.Popen([shutil.which("nginx") or "nginx", "-p", str(prefix), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base_url = f"http://127.0.0.1:{port}"
        import urllib.request
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base_url + "/", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}")
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_server(site: Path, tmp: Path) -> tuple[Any, str]:
    if shutil.which("nginx"):
        try:
            return Nginx(site, tmp / "nginx"), "nginx"
        except Exception as error:  # fall back to the Python server
            print(f"nginx failed ({error}); using crawler/demo/server.py", file=sys.stderr)
    from crawler.demo.server import serve
    return serve(site), "crawler.demo.server (Python ThreadingHTTPServer)"


# --- the bench ---------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--page-kb", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", choices=("baseline", "schoolwatch"), help=argparse.SUPPRESS)
    parser.add_argument("--crawl-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--mentions", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.crawl_baseline:
        baseline_crawl(args.base, Path(args.work))
        return 0
    if args.one:
        print(json.dumps(one_run(args.one, args.base, Path(args.work), args.mentions)))
        return 0

    import scrapy
    from sitegen import generate_site, mention_paths

    tmp = Path(tempfile.mkdtemp(prefix="schoolwatch-bench-"))
    tmp.chmod(0o755)  # nginx's worker may run as another user
    try:
        site = tmp / "site"
        site.mkdir()
        started = time.perf_counter()
        paths = generate_site(site, pages=args.pages, page_kb=args.page_kb)
        expected = len(mention_paths(paths))
        print(f"generated {len(paths)} pages of ~{args.page_kb} KB in {time.perf_counter() - started:.1f}s",
              file=sys.stderr)
        server, server_name = start_server(site, tmp)
        rows: list[dict[str, Any]] = []
        try:
            for round_no in range(1, args.rounds + 1):
                for kind in ("baseline", "schoolwatch"):
                    work = tmp / f"{kind}-{round_no}"
                    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", kind,
                                          "--base", server.base_url, "--work", str(work),
                                          "--mentions", str(expected)],
                                         stdout=subprocess.PIPE, text=True, check=True, cwd=ROOT)
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    row["round"] = round_no
                    rows.append(row)
                    print(f"round {round_no} {kind}: {row['pages']} pages in {row['seconds']}s", file=sys.stderr)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def best(kind: str) -> dict[str, Any]:
        return max((r for r in rows if r["run"] == kind), key=lambda r: r["pages_per_s"])

    base_best, ours_best = best("baseline"), best("schoolwatch")
    ratio = round(ours_best["pages_per_s"] / base_best["pages_per_s"], 3)
    for row in rows:
        row["ratio"] = round(row["pages_per_s"] / base_best["pages_per_s"], 3)
    medians = {kind: statistics.median(r["pages_per_s"] for r in rows if r["run"] == kind)
               for kind in ("baseline", "schoolwatch")}

    lines = ["| run | pages | seconds | scrapy elapsed s | pages/s | ratio | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['run']} #{row['round']} | {row['pages']} | {row['seconds']:.2f} | "
                     f"{row['scrapy_elapsed_s'] if row['scrapy_elapsed_s'] is not None else '-'} | "
                     f"{row['pages_per_s']:.1f} | {row['ratio']:.2f} | {row['peak_rss_mb']:.1f} |")
    lines.append(f"| **best: schoolwatch / baseline** | | | | {ours_best['pages_per_s']:.1f} / "
                 f"{base_best['pages_per_s']:.1f} | **{ratio:.2f}** | |")
    print("\n".join(lines))
    ours_rows = [r for r in rows if r["run"] == "schoolwatch"]
    mentions_ok = all(r.get("all_mentions_found") for r in ours_rows)
    print(f"\nserver: {server_name}; {args.pages} pages x {args.page_kb} KB; ratio (best rounds) {ratio:.2f} "
          f"(aim >= 0.70: {'met' if ratio >= 0.70 else 'NOT met'}); median ratio "
          f"{medians['schoolwatch'] / medians['baseline']:.2f}; mentions found "
          f"{[r.get('mentions_new') for r in ours_rows]} of {expected} expected: {'all' if mentions_ok else 'MISSING'}")

    result = {
        "python": platform.python_version(), "machine": platform.machine(), "nproc": os.cpu_count(),
        "scrapy": scrapy.__version__, "server": server_name, "pages": args.pages, "page_kb": args.page_kb,
        "rounds": args.rounds, "concurrency": 16, "depth": DEPTH,
        "mentions_expected": expected, "all_mentions_found": mentions_ok,
        "baseline_best_pages_per_s": base_best["pages_per_s"],
        "schoolwatch_best_pages_per_s": ours_best["pages_per_s"],
        "ratio": ratio, "ratio_median": round(medians["schoolwatch"] / medians["baseline"], 3),
        "aim_ratio": 0.70, "aim_met": ratio >= 0.70,
        "rows": [{k: v for k, v in r.items() if k != "log"} for r in rows],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
