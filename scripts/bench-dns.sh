#!/usr/bin/env bash
# bench-dns: devbox dns serve against dnsmasq, side by side, same 10,000-name
# hosts file, same dnsperf load. Prints, for both servers: full-speed
# throughput (and the ratio), CPU microseconds per query at a fixed 20,000
# qps (utime+stime from /proc/PID/stat, the median of the rounds), p50/p99/p99.9
# latency at 20,000 and 50,000 qps (dnsperf -Q, per-query latencies from
# -v; the median of three alternating rounds); then the reload time of a 100,000-name file (with the queries lost
# meanwhile). Needs bin/devbox (make bench-dns builds it) and Debian's
# dnsperf and dnsmasq-base. Takes about three and a half minutes.
set -euo pipefail

BIN=${BIN:-bin/devbox}
DURATION=${DURATION:-6}      # seconds of full-speed load per server and round
ROUNDS=${ROUNDS:-3}          # alternating rounds; the best of each server counts
RATE=${RATE:-20000}          # queries per second for the CPU and latency runs
HIGH=${HIGH:-50000}          # queries per second for the second latency run
FIXED=${FIXED:-6}            # seconds of each fixed-rate run
CPU_ROUNDS=${CPU_ROUNDS:-5}  # alternating CPU-per-query rounds; the median of each server counts
LAT_ROUNDS=${LAT_ROUNDS:-3}  # alternating latency rounds at each rate; the median of each percentile counts
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

ticks() { # ticks PID: CPU clock ticks used so far (utime + stime)
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

cpu_per_query() { # cpu_per_query PORT PID: CPU microseconds per answered query at RATE qps
  local before after done
  before=$(ticks "$2")
  done=$(dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$FIXED" -Q "$RATE" -c "$CLIENTS" 2>&1 |
    awk '/Queries completed/ { print $3 }')
  after=$(ticks "$2")
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="${done:-0}" \
    'BEGIN { if (n == 0) print "-"; else printf "%.1f\n", t * 1000000 / hz / n }'
}

latency() { # latency PORT QPS: p50 p99 p99.9 in microseconds and the queries lost
  dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$FIXED" -Q "$2" -c "$CLIENTS" -v > "$work/lat" 2>&1 || true
  lost=$(awk '/Queries lost/ { print $3 }' "$work/lat")
  awk '$1 == ">" { print $NF * 1000000 }' "$work/lat" | sort -n |
    awk -v lost="${lost:-?}" '{ v[NR] = $1 } END {
      if (NR == 0) { print "- - - " lost; exit }
      printf "%d %d %d %s\n", v[int(NR*0.50)+1], v[int(NR*0.99)+1], v[int(NR*0.999)+1], lost }'
}

# Alternating rounds, best of each: the machine may be busy with other work.
echo "bench-dns: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), 10,000 names, dnsperf -c $CLIENTS -T $THREADS, $ROUNDS rounds of ${DURATION}s each"
q_dnsmasq=0 q_devbox=0
for _ in $(seq "$ROUNDS"); do
  q=$(qps "$PORT_DNSMASQ"); [ "${q:-0}" -gt "$q_dnsmasq" ] && q_dnsmasq=$q
  q=$(qps "$PORT_DEVBOX"); [ "${q:-0}" -gt "$q_devbox" ] && q_devbox=$q
done
# CPU per query: alternating rounds, the median of each server.
c_dnsmasq=() c_devbox=()
for _ in $(seq "$CPU_ROUNDS"); do
  c_dnsmasq+=("$(cpu_per_query "$PORT_DNSMASQ" "${pids[0]}")")
  c_devbox+=("$(cpu_per_query "$PORT_DEVBOX" "${pids[1]}")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR+1)/2)] }'; }
cpu_dnsmasq=$(median "${c_dnsmasq[@]}")
cpu_devbox=$(median "${c_devbox[@]}")
echo "cpu per query at $RATE qps, each round: dnsmasq ${c_dnsmasq[*]} us; devbox ${c_devbox[*]} us"
# Latency: alternating rounds at each rate, each percentile's median per
# server (one round's p99 moves by half between rounds).
declare -A L
for r in $(seq "$LAT_ROUNDS"); do
  for rate in "$RATE" "$HIGH"; do
    for s in dnsmasq devbox; do
      port=$PORT_DNSMASQ; [ "$s" = devbox ] && port=$PORT_DEVBOX
      read -r "L[$s,$rate,50,$r]" "L[$s,$rate,99,$r]" "L[$s,$rate,999,$r]" "L[$s,$rate,lost,$r]" < <(latency "$port" "$rate")
    done
  done
done
lat_median() { # lat_median SERVER RATE PCT: the median over the rounds
  local v=()
  for r in $(seq "$LAT_ROUNDS"); do v+=("${L[$1,$2,$3,$r]}"); done
  median "${v[@]}"
}
lat_rounds() { # lat_rounds SERVER RATE: each round's p99, comma separated
  local v=()
  for r in $(seq "$LAT_ROUNDS"); do v+=("${L[$1,$2,99,$r]}"); done
  (IFS=,; echo "${v[*]}")
}
lat_lost() { # lat_lost SERVER RATE: queries lost over the rounds
  local n=0
  for r in $(seq "$LAT_ROUNDS"); do [ "${L[$1,$2,lost,$r]}" = "?" ] || n=$((n + L[$1,$2,lost,$r])); done
  echo "$n"
}
for s in dnsmasq devbox; do
  eval "l50_$s=$(lat_median $s "$RATE" 50) l99_$s=$(lat_median $s "$RATE" 99) l999_$s=$(lat_median $s "$RATE" 999) lost_$s=$(lat_lost $s "$RATE")"
  eval "h50_$s=$(lat_median $s "$HIGH" 50) h99_$s=$(lat_median $s "$HIGH" 99) h999_$s=$(lat_median $s "$HIGH" 999) hlost_$s=$(lat_lost $s "$HIGH")"
done
echo "p99 at $RATE qps, each round: dnsmasq $(lat_rounds dnsmasq "$RATE") us; devbox $(lat_rounds devbox "$RATE") us (medians below)"
echo "p99 at $HIGH qps, each round: dnsmasq $(lat_rounds dnsmasq "$HIGH") us; devbox $(lat_rounds devbox "$HIGH") us"
k=$((RATE / 1000))k h=$((HIGH / 1000))k
printf '%-8s %8s %10s | %8s %8s %8s %6s | %8s %8s %8s %6s\n' server qps "cpu@$k" "p50@$k" "p99@$k" "p99.9@$k" lost "p50@$h" "p99@$h" "p99.9@$h" lost
for s in dnsmasq devbox; do
  eval "printf '%-8s %8s %8sus | %6sus %6sus %6sus %6s | %6sus %6sus %6sus %6s\n' $s \$q_$s \$cpu_$s \$l50_$s \$l99_$s \$l999_$s \$lost_$s \$h50_$s \$h99_$s \$h999_$s \$hlost_$s"
done
awk -v a="$q_devbox" -v b="$q_dnsmasq" -v ca="$cpu_devbox" -v cb="$cpu_dnsmasq" 'BEGIN {
  printf "ratio devbox/dnsmasq: throughput %.2f, CPU per query %.2f\n", (b > 0 ? a / b : 0), (cb > 0 ? ca / cb : 0) }'

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
