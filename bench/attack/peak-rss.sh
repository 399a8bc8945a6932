#!/usr/bin/env bash
# Peak RSS per request: for each URL (path and query), a fresh `capreg serve` on DB answers it once; prints
# status, body bytes, wall time, the server's CPU for it (utime+stime from /proc/PID/stat) and its peak
# RSS (VmHWM). BUDGET sets --query-budget (default the server's).
#
#   bench/attack/peak-rss.sh DB CAPREG URL...
db=$1; capreg=$2; shift 2
for target in "$@"; do
  port=$((20000 + RANDOM % 20000))
  "$capreg" serve --db "$db" --listen 127.0.0.1:$port --stale-after 36500d --query-budget ${BUDGET:-5s} 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
  before=$(awk '{print $14+$15}' /proc/$pid/stat)
  out=$(curl -s -o /dev/null -w "%{http_code} %{size_download} %{time_total}" "http://127.0.0.1:$port$target")
  after=$(awk '{print $14+$15}' /proc/$pid/stat)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  echo "$out cpu=$(( (after-before)*10 ))ms peak_rss=$((hwm/1024))MB  $target" | cut -c1-220
  kill $pid; wait $pid 2>/dev/null
done
