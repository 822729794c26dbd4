#!/usr/bin/env python3
"""The performance guard: short runs of the page, search and write
benchmarks, each a ratio against a baseline measured in the same run,
compared with the reference ratios in README.md ("Performance guard").

    python3 benches/guard.py                  # measure, compare, exit 1 on a drop
    python3 benches/guard.py --write-readme   # measure and make that the reference

Why ratios, and why a margin: this machine kind is shared, and a server's
req/s moves by up to 1.6x within a minute; a ratio to a baseline run beside
it (nginx, SQLite FTS5, an fdatasync loop) moves less, but not nothing. A
check's reference is the median of 5 runs, and it fails below 80 % of the
lower of that median and the lowest of those runs: a drop beyond the noise
seen when the reference was taken. (The first CI run of the guard saw the
page ratio at 0.57 and 0.59 where the reference runs had seen 0.70-0.82.) It fails only when every one of its
attempts (3 by default) is below, so a slow minute does not fail CI but a
real regression (say 0.91x -> 0.71x of a steady ratio) does.

It measures the debug build CI has already built (deps at opt-level 1),
at small sizes, so it costs minutes, not a release build. Its ratios are
therefore not the release numbers of the README's performance tables; they
are their own reference, regenerated with --write-readme when a change is
meant to cost (say so in the commit).

Needs nginx and wrk for the page check (`apt-get install nginx-light wrk`).
"""

import argparse
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- perf-guard:begin -->", "<!-- perf-guard:end -->"
MARGIN = 0.8  # a ratio under 80 % of its reference (or of its lowest reference run) is a drop
RUNS = 5  # runs a reference is the median of
ROUNDS = 5  # alternating wrk runs of each server in one page measurement
# wrk on the first core, each server alone on the second: the servers then
# never compete with the load generator for a core, which was most of the
# page ratio's spread on this 2-core machine.
PIN_CLIENT, PIN_SERVER = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))

# What each check compares, as the README's table says it.
WHAT = {
    "page": f"cached document page req/s ÷ nginx serving the same bytes (wrk -t1 -c32, {ROUNDS} × 2 s alternating, medians)",
    "search": "SQLite FTS5 trigram query p50 ÷ zhanqun engine query p50 (5,000 generated documents)",
    "writes": "documents created through the API per second, one writer ÷ fdatasync loop per second",
}


def log(msg):
    print(f"guard: {msg}", file=sys.stderr, flush=True)


def cargo_bench(package, bench, env):
    """Runs a benchmark of the debug build and returns what it printed."""
    cmd = ["cargo", "bench", "--quiet", "--locked", "--profile", "dev", "-p", package, "--bench", bench]
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"guard: `{' '.join(cmd)}` failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def measure_search(_args):
    out = cargo_bench("zhanqun-search", "search", {"ZHANQUN_BENCH_SEARCH_DOCS": "5000", "ZHANQUN_BENCH_SEARCH_ENGINES": "fts5,tantivy"})
    m = re.search(r"^\| query p50 \| ([0-9.]+) ms \| ([0-9.]+) ms \|", out, re.M)
    if not m:
        raise SystemExit(f"guard: the search benchmark printed no p50 row:\n{out}")
    return float(m.group(1)) / float(m.group(2))


def measure_writes(_args):
    out = cargo_bench("zhanqun-web", "writes", {"ZHANQUN_BENCH_WRITES": "300"})
    base = re.search(r"baseline: the fdatasync loop, ([0-9.]+)/s", out)
    row = re.search(r"^\| document created through the API \| 1 \| ([0-9.]+) \|", out, re.M)
    if not base or not row:
        raise SystemExit(f"guard: the writes benchmark printed no baseline or no one-writer row:\n{out}")
    return float(row.group(1)) / float(base.group(1))


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, deadline_s, what):
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"guard: {what} did not answer {url} within {deadline_s} s")


def get(url, host):
    req = urllib.request.Request(url, headers={"Host": host})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def wrk(url, host, secs):
    out = subprocess.run(
        PIN_CLIENT + ["wrk", "-t1", "-c32", f"-d{secs}s", "-H", f"Host: {host}", url], capture_output=True, text=True, timeout=secs + 30
    )
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise SystemExit(f"guard: wrk failed on {url}:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1))


def measure_page(args):
    for tool in ("nginx", "wrk"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise SystemExit(f"guard: {tool} is missing; install it (apt-get install nginx-light wrk)")
    binary = TARGET / "debug" / "zhanqun"
    if not binary.exists():
        raise SystemExit(f"guard: {binary} is missing; build it first (cargo build -p zhanqun)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        zq_port, ng_port = free_port(), free_port()
        env = {**os.environ, "ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD": "Guard-Sysop-2026", **dict(e.split("=", 1) for e in args.server_env)}
        cmd = PIN_SERVER + shlex.split(args.server_wrapper) + [str(binary), "serve", "--demo", "--data", str(tmp / "data"), "--listen", f"127.0.0.1:{zq_port}"]
        with open(tmp / "zhanqun.log", "wb") as zq_log:
            server = subprocess.Popen(cmd, env=env, stdout=zq_log, stderr=zq_log, start_new_session=True)
        nginx_started = False
        try:
            wait_for(f"http://127.0.0.1:{zq_port}/readyz", 120, "zhanqun serve --demo")
            host = "www.haicheng.gov.cn"
            listing = get(f"http://127.0.0.1:{zq_port}/col/szfbgswj/", host).decode()
            path = re.findall(r"/art/[0-9]+\.html", listing)[-1]
            (tmp / "www").mkdir()
            (tmp / "www" / "page.html").write_bytes(get(f"http://127.0.0.1:{zq_port}{path}", host))
            (tmp / "nginx.conf").write_text(
                f"""worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{ng_port}; root {tmp}/www; location / {{ try_files /page.html =404; default_type text/html; etag on; }} }} }}
"""
            )
            subprocess.run(PIN_SERVER + ["nginx", "-c", str(tmp / "nginx.conf")], check=True)
            nginx_started = True
            wait_for(f"http://127.0.0.1:{ng_port}/", 10, "nginx")
            zq_url, ng_url = f"http://127.0.0.1:{zq_port}{path}", f"http://127.0.0.1:{ng_port}/"
            wrk(zq_url, host, 1)  # the page cached and its answer kept ready
            zq, ng = [], []
            for _ in range(ROUNDS):
                ng.append(wrk(ng_url, "localhost", 2))
                zq.append(wrk(zq_url, host, 2))
            log(f"page: zhanqun {zq} req/s, nginx {ng} req/s")
            return statistics.median(zq) / statistics.median(ng)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            if nginx_started and (tmp / "nginx.pid").exists():
                os.kill(int((tmp / "nginx.pid").read_text()), signal.SIGTERM)
                time.sleep(0.3)


CHECKS = {"page": measure_page, "search": measure_search, "writes": measure_writes}


def read_reference(text):
    """(reference, floor) of each check, from the README's guard table."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"guard: README.md has no table between {BEGIN} and {END}")
    block = text[text.index(BEGIN) : text.index(END)]
    ref = {}
    for m in re.finditer(r"^\| `(\w+)` \|[^|]*\| ([0-9.]+)× \| ([0-9.]+)× \|", block, re.M):
        ref[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return ref


def floor_of(runs):
    """Where a check fails, from the runs its reference was taken from."""
    return min(statistics.median(runs), min(runs)) * MARGIN


def verdict(name, reference, floor, measured):
    """None when `measured` holds, else why not."""
    if measured >= floor:
        return None
    return (
        f"{name}: {measured:.4f}× against {reference:.4f}× in README.md (fails below {floor:.4f}×): "
        f"{WHAT[name]} dropped by {100 * (1 - measured / reference):.0f} %"
    )


def table(runs):
    """The README's guard table for each check's reference runs."""
    rows = [BEGIN, "| check | what is compared | reference (median) | fails below | reference runs |", "|---|---|---|---|---|"]
    for name, r in runs.items():
        shown = ", ".join(f"{x:.4f}" for x in r)
        rows.append(f"| `{name}` | {WHAT[name]} | {statistics.median(r):.4f}× | {floor_of(r):.4f}× | {shown} |")
    rows.append(END)
    return "\n".join(rows)


def read_runs(text):
    """Each check's reference runs, to keep those of checks not measured again."""
    block = text[text.index(BEGIN) : text.index(END)] if BEGIN in text and END in text else ""
    return {m.group(1): [float(x) for x in m.group(2).split(", ")] for m in re.finditer(r"^\| `(\w+)` \|.*\| ([0-9., ]+) \|$", block, re.M)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", choices=sorted(CHECKS), help="run only this check (repeatable)")
    p.add_argument("--attempts", type=int, default=3, help="attempts per check before it fails (default 3)")
    p.add_argument("--write-readme", action="store_true", help=f"make the median of {RUNS} runs each check's reference")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE", help="environment for the zhanqun server of the page check")
    p.add_argument("--server-wrapper", default="", help="command the page check's server runs under (the guard's own test slows it so)")
    args = p.parse_args()
    names = args.only or list(CHECKS)
    text = README.read_text()
    if args.write_readme:
        runs = read_runs(text)
        for name in names:
            runs[name] = [CHECKS[name](args) for _ in range(RUNS)]
            log(f"{name}: {', '.join(f'{r:.4f}' for r in runs[name])}")
        runs = {n: runs[n] for n in CHECKS if n in runs}
        README.write_text(text[: text.index(BEGIN)] + table(runs) + text[text.index(END) + len(END) :])
        print(table(runs))
        return 0
    reference = read_reference(text)
    failures = []
    for name in names:
        if name not in reference:
            raise SystemExit(f"guard: README.md has no reference for `{name}`; run with --write-readme")
        ref, floor = reference[name]
        for attempt in range(1, args.attempts + 1):
            measured = CHECKS[name](args)
            why = verdict(name, ref, floor, measured)
            print(f"guard: {name}: {measured:.4f}× (reference {ref:.4f}×, fails below {floor:.4f}×, attempt {attempt}) {'ok' if why is None else 'low'}", flush=True)
            if why is None:
                break
        else:
            failures.append(why)
    for why in failures:
        print(f"guard: FAILED {why}", flush=True)
    if failures:
        print(
            "guard: if the cost is meant, make it the reference with `python3 benches/guard.py --write-readme` "
            "and say why in the commit; otherwise find what got slower (the benchmarks' own tables say more)",
            flush=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
