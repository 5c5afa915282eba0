#!/usr/bin/env bash
# compare-sendmail: the same sendmail command lines through Postfix's
# sendmail and devbox's, side by side. Both send to one Postfix smtp-sink on
# loopback that dumps every transaction; the table shows each one's exit
# code, the envelope recipients the sink got, and whether a Bcc header
# reached it. Postfix runs as a private instance (own config and queue in a
# temporary folder, no listener), relaying to the sink; its sendmail exits
# after queueing, so the script waits (at most 10 s per case) for the sink.
# Run with `make compare-sendmail` (builds bin/devbox first). Needs root for
# the Postfix master. BIN overrides the binary.
set -euo pipefail
SCRIPTS=$(cd "$(dirname "$0")" && pwd)

BIN=${BIN:-bin/devbox}
die() { echo "compare-sendmail: $*" >&2; exit 1; }
for tool in /usr/sbin/smtp-sink /usr/sbin/postfix /usr/sbin/sendmail python3; do
  command -v "$tool" >/dev/null || die "$tool not found: install Debian's postfix and python3 (make deps)"
done
[ -x "$BIN" ] || die "$BIN not found: run make build"
[ "$(id -u)" -eq 0 ] || die "the private Postfix instance needs root (its master starts as root and drops to postfix)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

T=$(mktemp -d /tmp/devbox-compare-sendmail.XXXXXX)
chmod 755 "$T"
SINK_PID=""
PF_PID=""
cleanup() {
  [ -f "$T/pf/etc/main.cf" ] && /usr/sbin/postfix -c "$T/pf/etc" stop >/dev/null 2>&1 || true
  [ -n "$PF_PID" ] && { wait "$PF_PID" 2>/dev/null || true; }
  [ -n "$SINK_PID" ] && { kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; }
  [ -n "${KEEP:-}" ] && echo "kept $T" >&2 && return
  rm -rf "$T"
}
trap cleanup EXIT

SINK=$(python3 -c '
import random, socket
while True:
    p = random.randint(20000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
mkdir -p "$T/dump" && chmod 777 "$T/dump"
/usr/sbin/smtp-sink -u nobody -d "$T/dump/%H%M%S." "127.0.0.1:$SINK" 16 &
SINK_PID=$!

mkdir -p "$T/pf/etc" "$T/pf/queue" "$T/pf/data"
chown postfix:postfix "$T/pf/data"
cat >"$T/pf/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $T/pf/queue
data_directory = $T/pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = box.test
myorigin = box.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:$SINK
smtp_tls_security_level = none
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = /dev/stdout
syslog_name = postfix-compare
CONF
grep -v '^#' "$SCRIPTS/postfix-master.cf" >"$T/pf/etc/master.cf"
/usr/sbin/postfix -c "$T/pf/etc" start-fg >"$T/start.log" 2>&1 &
PF_PID=$!
for _ in $(seq 100); do [ -S "$T/pf/queue/public/pickup" ] || [ -p "$T/pf/queue/public/pickup" ] && break; sleep 0.1; done
[ -e "$T/pf/queue/public/pickup" ] || { cat "$T/start.log" >&2; die "postfix did not start"; }
ln -s "$BIN" "$T/sendmail"

dumps() { find "$T/dump" -type f | wc -l; }
# summary FILES...: recipients and whether a Bcc header came through.
summary() {
  python3 - "$@" <<'PY'
import sys
txns, bcc = [], False
for name in sys.argv[1:]:
    rcpts, head = [], True
    for line in open(name, errors="replace"):
        line = line.rstrip("\r\n")
        if line.startswith("X-Rcpt-Args: "):
            rcpts.append(line.split(None, 1)[1].split()[0].strip("<>"))
        elif line.startswith("X-Mail-Args: "):
            sender = line.split(None, 1)[1].split()[0]
        elif head and line.lower().startswith(("bcc:", "resent-bcc:")):
            bcc = True
        elif line == "" and rcpts:
            head = False
    txns.append(",".join(rcpts) + (" (bounce)" if sender == "<>" else ""))
print(" then ".join(txns).replace(" ", "_") or "-", "yes" if bcc else "no")
PY
}
# run NAME STDIN ARGS...: one sendmail, exit code and what reached the sink.
run() {
  local who=$1 input=$2; shift 2
  local before; before=$(dumps)
  local code=0 out
  if [ "$who" = postfix ]; then
    out=$(printf '%b' "$input" | MAIL_CONFIG="$T/pf/etc" /usr/sbin/sendmail "$@" 2>&1) || code=$?
  else
    out=$(printf '%b' "$input" | env -i PATH="$PATH" USER=app DEVBOX_MAIL_RELAY_HOST="127.0.0.1:$SINK" \
      DEVBOX_MAIL_RELAY_TLS=none DEVBOX_MAIL_HOSTNAME=box.test DEVBOX_MAIL_SPOOL="$T/spool" "$T/sendmail" "$@" 2>&1) || code=$?
  fi
  # Postfix delivers in the background: wait for the sink (or 10 s).
  local deadline=$(( $(date +%s) + 10 ))
  if [ "$who" = postfix ] && [ "$code" -eq 0 ] && [[ " $* " != *" -bp "* ]]; then
    while [ "$(dumps)" -eq "$before" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    sleep 0.3
  fi
  local new; new=$(find "$T/dump" -type f -newer "$T/mark" -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2)
  touch "$T/mark"
  # shellcheck disable=SC2086
  read -r rc bcc < <(summary $new)
  rc=${rc//_/ }
  printf '%-8s exit %-3s sent to %-60s bcc header: %-3s %s\n' "$who" "$code" "$rc" "$bcc" "$(echo "$out" | head -1 | cut -c1-70)"
}

BCC='To: dev@example.test\nCc: Ops <ops@example.test>\nBcc: audit@example.test\nSubject: s\n\nbody\n'
mkdir -p "$T/spool"
touch "$T/mark"
sleep 1
while IFS='|' read -r name input args; do
  echo "== $name: sendmail $args"
  # shellcheck disable=SC2086
  run postfix "$input" $args
  # shellcheck disable=SC2086
  run devbox "$input" $args
done <<CASES
Bcc with -t|$BCC|-t -i
Bcc without -t|$BCC|-i dev@example.test
unparsable To with -t|To: dev@example.test, bob@\nSubject: s\n\nb\n|-t
bare name argument (cron)|Subject: cron\n\nb\n|root
bare name in To with -t|To: root\nSubject: s\n\nb\n|-t
list the queue|-|-bp
SMTP on stdin|EHLO mua.test\r\nMAIL FROM:<app@box.test>\r\nRCPT TO:<dev@example.test>\r\nDATA\r\nSubject: bs\r\nBcc: x@example.test\r\n\r\nb\r\n.\r\nQUIT\r\n|-bs
Resent-Bcc with -t|Resent-To: r@example.test\nResent-Bcc: rb@example.test\nTo: dev@example.test\nSubject: s\n\nb\n|-t
null sender|To: dev@example.test\nSubject: s\n\nb\n|-t -f <>
CASES
