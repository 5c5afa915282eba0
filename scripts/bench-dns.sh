#!/usr/bin/env bash
# bench-dns: devbox dns serve against dnsmasq, side by side, same 10,000-name
# hosts file, same dnsperf load. Prints both throughputs and their ratio,
# p50/p99 latency at a fixed rate, and the reload time of a 100,000-name
# file (with the queries lost meanwhile). Needs bin/devbox (make bench-dns
# builds it) and Debian's dnsperf and dnsmasq-base. Takes about a minute.
set -euo pipefail

BIN=${BIN:-bin/devbox}
DURATION=${DURATION:-6}      # seconds of full-speed load per server and round
ROUNDS=${ROUNDS:-3}          # alternating rounds; the best of each server counts
RATE=${RATE:-20000}          # queries per second for the latency run
CLIENTS=${CLIENTS:-8}        # dnsperf clients (source ports)
THREADS=${THREADS:-2}        # dnsperf threads
PORT_DNSMASQ=${PORT_DNSMASQ:-15353}
PORT_DEVBOX=${PORT_DEVBOX:-15354}
PORT_RELOAD=${PORT_RELOAD:-15355}

for tool in dnsperf dnsmasq; do
  command -v "$tool" >/dev/null || { echo "bench-dns: $tool missing: apt-get install dnsperf dnsmasq-base (make deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench-dns: $BIN missing: make build" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# hosts FILE N: N names, each on its own address.
gen_hosts() {
  awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "10.%d.%d.%d host%d.bench.test\n", int(i/65536)%256, int(i/256)%256, i%256, i }' > "$1"
}
gen_hosts "$work/hosts" 10000
awk '{ print $2 " A" }' "$work/hosts" > "$work/queries"

wait_port() { # wait_port PORT: until a query gets an answer
  for _ in $(seq 100); do
    if dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -n 1 -c 1 -t 1 2>/dev/null | grep -q 'Queries completed: *[1-9]'; then return 0; fi
    sleep 0.1
  done
  echo "bench-dns: nothing answers on port $1" >&2; exit 1
}

dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$work/hosts" \
  --port="$PORT_DNSMASQ" --listen-address=127.0.0.1 --bind-interfaces \
  --pid-file="$work/dnsmasq.pid" --user="$(id -un)" --log-facility="$work/dnsmasq.log" &
pids+=($!)
"$BIN" --log-level warn dns serve --listen "127.0.0.1:$PORT_DEVBOX" --hosts "$work/hosts" --no-forward 2>"$work/devbox.log" &
pids+=($!)
wait_port "$PORT_DNSMASQ"
wait_port "$PORT_DEVBOX"
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "bench-dns: a server failed to start (port taken?)" >&2; exit 1; }
done

qps() { # qps PORT: full-speed queries per second
  dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$DURATION" -c "$CLIENTS" -T "$THREADS" -q 500 2>&1 |
    awk '/Queries per second/ { print int($4) }'
}

latency() { # latency PORT: p50 p99 in microseconds at RATE qps for 5 s
  dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l 5 -Q "$RATE" -c "$CLIENTS" -v 2>/dev/null |
    awk '$1 == ">" { print $NF * 1000000 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit } printf "%d %d\n", v[int(NR*0.50)+1], v[int(NR*0.99)+1] }'
}

# Alternating rounds, best of each: the machine may be busy with other work.
echo "bench-dns: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), 10,000 names, dnsperf -c $CLIENTS -T $THREADS, $ROUNDS rounds of ${DURATION}s each"
q_dnsmasq=0 q_devbox=0
for _ in $(seq "$ROUNDS"); do
  q=$(qps "$PORT_DNSMASQ"); [ "${q:-0}" -gt "$q_dnsmasq" ] && q_dnsmasq=$q
  q=$(qps "$PORT_DEVBOX"); [ "${q:-0}" -gt "$q_devbox" ] && q_devbox=$q
done
read -r p50_dnsmasq p99_dnsmasq < <(latency "$PORT_DNSMASQ")
read -r p50_devbox p99_devbox < <(latency "$PORT_DEVBOX")
printf '%-8s %10s %12s %12s\n' server qps "p50@${RATE}" "p99@${RATE}"
printf '%-8s %10s %10sus %10sus\n' dnsmasq "$q_dnsmasq" "$p50_dnsmasq" "$p99_dnsmasq"
printf '%-8s %10s %10sus %10sus\n' devbox "$q_devbox" "$p50_devbox" "$p99_devbox"
awk -v a="$q_devbox" -v b="$q_dnsmasq" 'BEGIN { printf "ratio devbox/dnsmasq: %.2f\n", (b > 0 ? a / b : 0) }'

# Reload: a 100,000-name file, rewritten three times under load.
gen_hosts "$work/big" 100000
"$BIN" --log-level info dns serve --listen "127.0.0.1:$PORT_RELOAD" --hosts "$work/big" --no-forward 2>"$work/reload.log" &
pids+=($!)
wait_port "$PORT_RELOAD"
dnsperf -s 127.0.0.1 -p "$PORT_RELOAD" -d "$work/queries" -l 4 -Q "$RATE" -c "$CLIENTS" > "$work/reload.perf" 2>&1 &
perf=$!
for i in 1 2 3; do
  sleep 1
  sed -i "1s/.*/10.255.255.$i changed$i.bench.test/" "$work/big"
done
wait "$perf"
took=$(awk -F'took=' '/local data reloaded/ { split($2, a, " "); printf "%s ", a[1] }' "$work/reload.log")
lost=$(awk '/Queries lost/ { print $3 }' "$work/reload.perf")
sent=$(awk '/Queries sent/ { print $3 }' "$work/reload.perf")
echo "reload of 100,000 names: ${took:-none seen} (queries lost during reloads: ${lost:-?} of ${sent:-?})"
