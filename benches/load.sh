#!/usr/bin/env bash
# Cached public page under load: zhanqun beside nginx serving the very same
# bytes as a static file, in one run, on loopback only — once plain, once
# with `Accept-Encoding: gzip, br` beside nginx's `gzip_static` serving a
# pre-compressed copy of the file (`gzip -9`).
#
#   benches/load.sh [seconds-per-run]      (needs: nginx, wrk — `apt-get install nginx-light wrk`)
#   ZHANQUN_BINARY=/path/to/zhanqun benches/load.sh   (another build, e.g. the one before a change)
#
# nginx is configured as an operator would tune it for static files: the
# file's descriptor kept open (`open_file_cache`) and sent with `sendfile`.
# Without those it opens, reads and closes the file on every request, and
# the comparison would flatter zhanqun (measured: about 15 % fewer req/s).
#
# A third server shows the floor under zhanqun: `bare_page` (an example of
# zhanqun-web) is hyper alone answering the same bytes with the same
# headers, with nothing of zhanqun around it. What zhanqun loses against it
# is the cost of its own path (the kept-answer lookup, metrics, deadlines).
#
# wrk uses one thread and 32 connections, pinned to the first core; every
# server is pinned to the second (nginx with one worker), so that no server
# competes with the load generator for a core: unpinned on this 2-core
# machine, the same build's ratio moved from 0.99x to 1.37x between two runs
# of this script, which is how wide that contention made the noise. Each
# server is measured five times, alternating, and the median counts.
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool is missing; install it (apt-get install nginx-light wrk curl)" >&2; exit 2; }
done
if [ -z "${ZHANQUN_BINARY:-}" ]; then
  cargo build --release -p zhanqun >&2
fi
cargo build --release -p zhanqun-web --example bare_page >&2
binary=${ZHANQUN_BINARY:-${CARGO_TARGET_DIR:-target}/release/zhanqun}
bare=${CARGO_TARGET_DIR:-target}/release/examples/bare_page
tmp=$(mktemp -d)
zq_pid="" bare_pid=""
cleanup() {
  [ -n "$zq_pid" ] && kill "$zq_pid" 2>/dev/null || true
  [ -n "$bare_pid" ] && kill "$bare_pid" 2>/dev/null || true
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
zq_port=18181 ng_port=18182 bare_port=18183
# One core for the load generator, the other for whichever server is measured.
client=(taskset -c 0) server=(taskset -c 1)
if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
  echo "load.sh: fewer than 2 cores (or no taskset): nothing pinned, expect noisier ratios" >&2
  client=() server=()
fi
ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD='Bench-Sysop-2026' "${server[@]}" "$binary" serve --demo --data "$tmp/data" --listen 127.0.0.1:$zq_port 2>"$tmp/zhanqun.log" &
zq_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$zq_port/readyz" >/dev/null && break; sleep 0.2; done
# The 2017 notice, by Host, as the public would reach it.
path=$(curl -sf -H 'Host: www.haicheng.gov.cn' "http://127.0.0.1:$zq_port/col/szfbgswj/" | grep -o '/art/[0-9]*\.html' | tail -1)
mkdir -p "$tmp/www"
curl -sf -D "$tmp/identity.head" -H 'Host: www.haicheng.gov.cn' "http://127.0.0.1:$zq_port$path" >"$tmp/www/page.html"
gzip -9 -k "$tmp/www/page.html"
# The compressed answer and its headers, for the bare server's second run.
curl -sf -D "$tmp/compressed.head" -H 'Host: www.haicheng.gov.cn' -H 'Accept-Encoding: gzip, br' "http://127.0.0.1:$zq_port$path" >"$tmp/compressed.body"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  open_file_cache max=100 inactive=60s; open_file_cache_valid 60s;
  client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp; uwsgi_temp_path $tmp; scgi_temp_path $tmp;
  server { listen 127.0.0.1:$ng_port; root $tmp/www; location / { try_files /page.html =404; default_type text/html; etag on; gzip_static on; } }
}
CONF
"${server[@]}" nginx -c "$tmp/nginx.conf"
sleep 0.5
rps() { "${client[@]}" wrk -t1 -c32 -d"${secs}s" -H "$2" -H "Accept-Encoding: $3" --latency "$1" | awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} END {print r, p}'; }
median() { sort -n | sed -n 3p; }
size() { curl -s -o /dev/null -w '%{size_download}' -H "$2" -H "Accept-Encoding: $3" "$1"; }
"${client[@]}" wrk -t1 -c32 -d2s -H 'Host: www.haicheng.gov.cn' "http://127.0.0.1:$zq_port$path" >/dev/null
echo "cached document page, wrk -t1 -c32 -d${secs}s, median of 5 alternating runs"
echo
echo "| Accept-Encoding | server | bytes sent | req/s (runs) | median req/s | p99 (runs) | vs nginx |"
echo "|---|---|---|---|---|---|---|"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
for encoding in identity "gzip, br"; do
  if [ "$encoding" = identity ]; then body=$tmp/www/page.html head=$tmp/identity.head; else body=$tmp/compressed.body head=$tmp/compressed.head; fi
  "${server[@]}" "$bare" 127.0.0.1:$bare_port "$body" "$head" &
  bare_pid=$!
  for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$bare_port/" && break; sleep 0.1; done
  zq=() ng=() ba=() zq_p99=() ng_p99=() ba_p99=()
  for _ in 1 2 3 4 5; do
    read -r r p < <(rps "http://127.0.0.1:$ng_port/" "Host: localhost" "$encoding"); ng+=("$r"); ng_p99+=("$p")
    read -r r p < <(rps "http://127.0.0.1:$zq_port$path" "Host: www.haicheng.gov.cn" "$encoding"); zq+=("$r"); zq_p99+=("$p")
    read -r r p < <(rps "http://127.0.0.1:$bare_port/" "Host: localhost" "$encoding"); ba+=("$r"); ba_p99+=("$p")
  done
  kill "$bare_pid"; wait "$bare_pid" 2>/dev/null || true; bare_pid=""
  ng_med=$(printf '%s\n' "${ng[@]}" | median)
  zq_med=$(printf '%s\n' "${zq[@]}" | median)
  ba_med=$(printf '%s\n' "${ba[@]}" | median)
  ng_size=$(size "http://127.0.0.1:$ng_port/" "Host: localhost" "$encoding")
  zq_size=$(size "http://127.0.0.1:$zq_port$path" "Host: www.haicheng.gov.cn" "$encoding")
  echo "| $encoding | nginx static file | $ng_size | ${ng[*]} | $ng_med | ${ng_p99[*]} | 1.00 |"
  echo "| $encoding | zhanqun (cached) | $zq_size | ${zq[*]} | $zq_med | ${zq_p99[*]} | $(ratio "$zq_med" "$ng_med") |"
  echo "| $encoding | bare hyper, same bytes (floor) | $(wc -c <"$body") | ${ba[*]} | $ba_med | ${ba_p99[*]} | $(ratio "$ba_med" "$ng_med") |"
done
