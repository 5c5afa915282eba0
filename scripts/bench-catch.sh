#!/usr/bin/env bash
# bench-catch: devbox catch mode against Mailpit, side by side in one run.
#   1. Throughput: Postfix's smtp-source (20 concurrent sessions, 2 kB
#      messages) into devbox mail serve --mode catch (every message fsynced,
#      file and folder, before 250) and into Mailpit (SQLite); caught
#      messages per second and the ratio.
#   2. Both stores are then filled to BENCH_CATCH_STORE messages (100,000)
#      and the API timed: the first page of GET /api/v1/messages and a
#      subject: search, p50 and p99 over 100 requests each (one keep-alive
#      client, one request at a time); then free-text searches (a word of
#      every subject, and one found nowhere, which devbox looks for in every
#      message's file past the 512 bytes of text its index holds) over
#      BENCH_CATCH_TEXT_REQUESTS (20) requests.
#   3. Start-up: each server restarted on its full store, time until the
#      list API answers.
# Run with `make bench-catch`. Tunables: BENCH_CATCH_MESSAGES (throughput
# run, 5000), BENCH_CATCH_STORE, BENCH_CATCH_SENDERS, BENCH_CATCH_SIZE,
# BENCH_CATCH_REQUESTS, BIN, MAILPIT.
set -euo pipefail

BIN=${BIN:-bin/devbox}
MAILPIT=${MAILPIT:-$(command -v mailpit || echo "$(go env GOPATH)/bin/mailpit")}
N=${BENCH_CATCH_MESSAGES:-5000}
STORE=${BENCH_CATCH_STORE:-100000}
C=${BENCH_CATCH_SENDERS:-20}
SIZE=${BENCH_CATCH_SIZE:-2000}
REQ=${BENCH_CATCH_REQUESTS:-100}
TEXT_REQ=${BENCH_CATCH_TEXT_REQUESTS:-20}
LIMIT=900 # seconds per smtp-source run

die() {
  echo "bench-catch: $*" >&2
  for f in "${T:-/nonexistent}/devbox.log" "${T:-/nonexistent}/mailpit.log"; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }
  done
  exit 1
}
for tool in /usr/sbin/smtp-source python3 "$MAILPIT"; do
  [ -x "$(command -v "$tool")" ] || die "$tool not found: make deps installs postfix (smtp-source), python3 and mailpit"
done
[ -x "$BIN" ] || die "$BIN not found: run make build"

T=$(mktemp -d /tmp/devbox-bench-catch.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

read -r DS DH MS MH < <(python3 -c '
import random, socket
ports = []
while len(ports) < 4:
    p = random.randint(20000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*ports)')

start_devbox() {
  "$BIN" --log-level warn mail serve --mode catch --listen "127.0.0.1:$DS" --http-listen "127.0.0.1:$DH" \
    --spool "$T/devbox" >>"$T/devbox.log" 2>&1 &
  DPID=$!; PIDS+=("$DPID")
}
start_mailpit() {
  "$MAILPIT" --smtp "127.0.0.1:$MS" --listen "127.0.0.1:$MH" --database "$T/mailpit.db" --max 0 \
    --disable-version-check --quiet >>"$T/mailpit.log" 2>&1 &
  MPID=$!; PIDS+=("$MPID")
}
# up PORT: seconds until GET /api/v1/messages?limit=1 answers 200 (at most 120 s).
up() {
  python3 - "$1" <<'PY'
import sys, time, http.client
port, t0 = int(sys.argv[1]), time.monotonic()
while time.monotonic() - t0 < 120:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/api/v1/messages?limit=1")
        if c.getresponse().status == 200:
            print("%.2f" % (time.monotonic() - t0)); sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
sys.exit(1)
PY
}
total() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/messages?limit=1" % sys.argv[1]))["total"])' "$1"; }

# inject NAME SMTPPORT HTTPPORT COUNT: prints messages/s, counted once the API lists them all.
inject() {
  local name=$1 sp=$2 hp=$3 n=$4 before start end
  before=$(total "$hp")
  start=$(date +%s.%N)
  timeout "$LIMIT" /usr/sbin/smtp-source -s "$C" -m "$n" -l "$SIZE" -S "bench catch" \
    -f load@bench.devbox.test -t dev@catch.devbox.test "127.0.0.1:$sp" || die "$name: smtp-source failed or ran over ${LIMIT}s"
  local deadline=$(( $(date +%s) + 120 ))
  while [ "$(total "$hp")" -lt $((before + n)) ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$name: only $(total "$hp") of $((before + n)) messages listed"
    sleep 0.05
  done
  end=$(date +%s.%N)
  python3 -c 'import sys; print("%.0f" % (int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))' "$n" "$start" "$end"
}

# latency PORT PATH [N]: p50 and p99 in ms over N (REQ) requests.
latency() {
  python3 - "$1" "$2" "${3:-$REQ}" <<'PY'
import sys, time, http.client
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
ts = []
for i in range(n + 5):
    t0 = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    if i >= 5:
        ts.append((time.perf_counter() - t0) * 1000)
ts.sort()
print("%.2f %.2f" % (ts[len(ts) // 2], ts[min(len(ts) - 1, int(len(ts) * 0.99))]))
PY
}

start_devbox; start_mailpit
up "$DH" >/dev/null || die "devbox did not start"
up "$MH" >/dev/null || die "mailpit did not start"

echo "bench-catch: $N messages of $SIZE bytes, $C concurrent smtp-source sessions; devbox fsyncs before 250"
inject devbox "$DS" "$DH" 200 >/dev/null # warm up
inject mailpit "$MS" "$MH" 200 >/dev/null
d_rate=$(inject devbox "$DS" "$DH" "$N")
m_rate=$(inject mailpit "$MS" "$MH" "$N")
printf '%-8s %12s\n' catcher "messages/s" devbox "$d_rate" mailpit "$m_rate"
python3 -c 'import sys; print("ratio devbox/mailpit: %.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$d_rate" "$m_rate"

rest=$((STORE - N - 200))
if [ "$rest" -gt 0 ]; then
  echo "filling both stores to $STORE messages..."
  d_fill=$(inject devbox "$DS" "$DH" "$rest"); m_fill=$(inject mailpit "$MS" "$MH" "$rest")
  echo "  (fill rate: devbox $d_fill/s, mailpit $m_fill/s)"
fi
echo "API at $(total "$DH") (devbox) and $(total "$MH") (mailpit) messages, $REQ requests each, p50/p99 ms:"
printf '%-34s %17s %17s\n' request devbox mailpit
for path in "/api/v1/messages?limit=50" "/api/v1/search?query=subject:catch&limit=50" "/api/v1/search?query=subject:nomatch&limit=50"; do
  read -r d50 d99 < <(latency "$DH" "$path")
  read -r m50 m99 < <(latency "$MH" "$path")
  printf '%-34s %8s/%-8s %8s/%-8s\n' "${path#/api/v1/}" "$d50" "$d99" "$m50" "$m99"
done
echo "free text, $TEXT_REQ requests each, p50/p99 ms:"
for path in "/api/v1/search?query=bench&limit=50" "/api/v1/search?query=nomatchword&limit=50"; do
  read -r d50 d99 < <(latency "$DH" "$path" "$TEXT_REQ")
  read -r m50 m99 < <(latency "$MH" "$path" "$TEXT_REQ")
  printf '%-34s %8s/%-8s %8s/%-8s\n' "${path#/api/v1/}" "$d50" "$d99" "$m50" "$m99"
done

mem() { python3 -c 'import json,sys,urllib.request; print("%.0f" % (json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/info" % sys.argv[1]))["RuntimeStats"]["Memory"] / 1e6))' "$1"; }
rss() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
echo "memory at $(total "$DH") messages (MB): devbox $(mem "$DH") (/api/v1/info), $(rss "$DPID") (RSS); mailpit $(mem "$MH") (/api/v1/info), $(rss "$MPID") (RSS)"

kill "$DPID" "$MPID"; wait "$DPID" "$MPID" 2>/dev/null || true
start_devbox; d_up=$(up "$DH") || die "devbox did not restart"
start_mailpit; m_up=$(up "$MH") || die "mailpit did not restart"
echo "start-up on the full store (s): devbox $d_up, mailpit $m_up"
