#!/usr/bin/env bash
# bench-mail: end-to-end relay throughput of devbox against Postfix, side by
# side in one run. Postfix's smtp-source injects the same load (20
# concurrent senders by default) into
#   1. devbox mail serve (relay mode; every message fsynced, file and
#      folder, before 250), and
#   2. a private relay-only Postfix instance (its own config and queue under
#      a temporary folder, loopback ports; Postfix also fsyncs before 250),
# and both relay into Postfix's smtp-sink. A run ends when the relay's
# queue is empty, so messages/s is end to end: injected, spooled, delivered.
# Run with `make bench-mail` (builds bin/devbox first). Needs root for the
# Postfix master. Tunables: BENCH_MAIL_MESSAGES, BENCH_MAIL_SENDERS,
# BENCH_MAIL_SIZE, BIN.
set -euo pipefail
SCRIPTS=$(cd "$(dirname "$0")" && pwd)

BIN=${BIN:-bin/devbox}
N=${BENCH_MAIL_MESSAGES:-3000}
C=${BENCH_MAIL_SENDERS:-20}
SIZE=${BENCH_MAIL_SIZE:-2000}
RUN_LIMIT=75 # seconds per measured run

die() {
  echo "bench-mail: $*" >&2
  for f in "${T:-/nonexistent}/devbox.log" "${T:-/nonexistent}/pf/start.log"; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }
  done
  exit 1
}
for tool in /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/postfix python3; do
  command -v "$tool" >/dev/null || die "$tool not found: install Debian's postfix and python3 (make deps)"
done
[ -x "$BIN" ] || die "$BIN not found: run make build"
[ "$(id -u)" -eq 0 ] || die "the private Postfix instance needs root (its master starts as root and drops to postfix)"

T=$(mktemp -d /tmp/devbox-bench-mail.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  [ -f "$T/pf/etc/main.cf" ] && /usr/sbin/postfix -c "$T/pf/etc" stop >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# Three free ports below the ephemeral range, so that outgoing connections
# of other programs cannot take them between this check and the bind.
read -r SINK DBX PFX < <(python3 -c '
import random, socket
ports = []
while len(ports) < 3:
    p = random.randint(20000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*ports)')

wait_port() { # port: wait (at most 15 s) until something greets with 220
  local deadline=$(( $(date +%s) + 15 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)
sys.exit(0 if s.recv(3)==b"220" else 1)' "$1" 2>/dev/null; then return 0; fi
    sleep 0.04
  done
  die "nothing answers on port $1"
}

# The sink: accepts everything, stores nothing.
SINK_USER=nobody
/usr/sbin/smtp-sink -u "$SINK_USER" "127.0.0.1:$SINK" 1024 &
PIDS+=($!)

# devbox, relay mode.
DEVBOX_MAIL_RELAY_HOST="127.0.0.1:$SINK" DEVBOX_MAIL_RELAY_TLS=none \
  "$BIN" --log-level warn mail serve --listen "127.0.0.1:$DBX" --spool "$T/devbox" --workers 20 \
  2>"$T/devbox.log" &
PIDS+=($!)

# Postfix, relay only, private instance.
mkdir -p "$T/pf/etc" "$T/pf/queue" "$T/pf/data"
chown postfix:postfix "$T/pf/data"
cat >"$T/pf/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $T/pf/queue
data_directory = $T/pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.devbox.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = /dev/stdout
syslog_name = postfix-bench
default_process_limit = 100
smtp_destination_concurrency_limit = 20
CONF
{ echo "127.0.0.1:$PFX inet n - n - - smtpd"; grep -v '^#' "$SCRIPTS/postfix-master.cf"; } >"$T/pf/etc/master.cf"
/usr/sbin/postfix -c "$T/pf/etc" start-fg >"$T/pf/start.log" 2>&1 &
PIDS+=($!)

wait_port "$SINK"
wait_port "$DBX"
wait_port "$PFX"

devbox_queue() { find "$T/devbox/queue" -name '*.msg' 2>/dev/null | wc -l; }
postfix_queue() { find "$T/pf/queue/maildrop" "$T/pf/queue/incoming" "$T/pf/queue/active" "$T/pf/queue/deferred" -type f 2>/dev/null | wc -l; }

# measure NAME PORT QUEUEFN MESSAGES: prints the end-to-end rate.
measure() {
  local name=$1 port=$2 queue=$3 n=$4 start inject end
  start=$(date +%s.%N)
  timeout "$RUN_LIMIT" /usr/sbin/smtp-source ${BENCH_MAIL_SOURCE_FLAGS:-} -s "$C" -m "$n" -l "$SIZE" \
    -f load@bench.devbox.test -t sink@sink.devbox.test "127.0.0.1:$port" ||
    die "$name: smtp-source failed or ran over ${RUN_LIMIT}s"
  inject=$(date +%s.%N)
  local deadline=$(( $(date +%s) + RUN_LIMIT ))
  while [ "$($queue)" -ne 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$name: queue not drained after ${RUN_LIMIT}s"
    sleep 0.01
  done
  end=$(date +%s.%N)
  python3 -c 'import sys
n,s,i,e=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4])
print("%.0f %.0f %.2f" % (n/(e-s), n/(i-s), e-s))' "$n" "$start" "$inject" "$end"
}

echo "bench-mail: $N messages of $SIZE bytes, $C concurrent senders, relay -> smtp-sink (fsync before 250 on both)"
measure devbox "$DBX" devbox_queue 200 >/dev/null   # warm up
measure postfix "$PFX" postfix_queue 200 >/dev/null
read -r d_rate d_inj d_secs < <(measure devbox "$DBX" devbox_queue "$N")
read -r p_rate p_inj p_secs < <(measure postfix "$PFX" postfix_queue "$N")
printf '%-8s %12s %14s %9s\n' relay "end-to-end/s" "injection/s" seconds
printf '%-8s %12s %14s %9s\n' devbox "$d_rate" "$d_inj" "$d_secs"
printf '%-8s %12s %14s %9s\n' postfix "$p_rate" "$p_inj" "$p_secs"
python3 -c 'import sys; print("ratio devbox/postfix (end to end): %.2fx" % (float(sys.argv[1])/float(sys.argv[2])))' "$d_rate" "$p_rate"
[ -s "$T/devbox.log" ] && { echo "devbox log:"; tail -5 "$T/devbox.log"; } || true
