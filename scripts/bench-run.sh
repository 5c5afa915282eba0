#!/usr/bin/env bash
# bench-run: wall time of `devbox run` of a trivial task against
# `docker run --rm` of the same image and command (both with --init, as
# devbox runs by default), alternating, N runs each. Prints both means and
# the ratio devbox/docker (target: <= 1.0).
#
#   scripts/bench-run.sh            # N=10
#   N=20 scripts/bench-run.sh
set -euo pipefail

N=${N:-10}
DEVBOX=${DEVBOX:-bin/devbox}
IMAGE=devbox-bench/busybox:latest
NET=devbox-bench-$$

[ -x "$DEVBOX" ] || { echo "bench-run: $DEVBOX missing: make build" >&2; exit 1; }
[ -r /bin/busybox ] || { echo "bench-run: /bin/busybox missing: apt-get install busybox-static" >&2; exit 1; }
((N >= 1 && N <= 100)) || { echo "bench-run: N must be 1..100" >&2; exit 1; }

ctx=$(mktemp -d)
cleanup() {
	docker network rm "$NET" >/dev/null 2>&1 || true
	rm -rf "$ctx"
}
trap cleanup EXIT

# A FROM scratch busybox image, built offline.
cp /bin/busybox "$ctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\n' >"$ctx/Dockerfile"
docker build -q -t "$IMAGE" "$ctx" >/dev/null
docker network create "$NET" >/dev/null

now() { date +%s%N; }
run_devbox() { "$DEVBOX" run --pull never --image "$IMAGE" --network "$NET" true; }
run_docker() { docker run --rm --init --network "$NET" "$IMAGE" true; }

# One warm-up run each, not counted; then alternate, devbox first on even
# rounds and docker first on odd ones.
run_devbox
run_docker
devbox_ms=()
docker_ms=()
time_devbox() { local t0 t1; t0=$(now); run_devbox; t1=$(now); devbox_ms+=($(((t1 - t0) / 1000000))); }
time_docker() { local t0 t1; t0=$(now); run_docker; t1=$(now); docker_ms+=($(((t1 - t0) / 1000000))); }
for ((i = 0; i < N; i++)); do
	if ((i % 2 == 0)); then time_devbox; time_docker; else time_docker; time_devbox; fi
done

# stats prints the mean and median of its arguments.
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; s += $1 } END {
	m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%.0f %.0f %d %d\n", s / NR, m, v[1], v[NR] }'; }
read -r da dm dmin dmax <<<"$(stats "${devbox_ms[@]}")"
read -r ka km kmin kmax <<<"$(stats "${docker_ms[@]}")"
left=$(docker ps -aq --filter label=devbox.run.parent="$IMAGE" | wc -l)
awk -v n="$N" -v da="$da" -v dm="$dm" -v ka="$ka" -v km="$km" -v dr="$dmin-$dmax" -v kr="$kmin-$kmax" -v left="$left" 'BEGIN {
	printf "runs each:            %d (alternating)\n", n
	printf "                      mean     median   range\n"
	printf "devbox run:           %4d ms  %4d ms  %s ms\n", da, dm, dr
	printf "docker run --rm:      %4d ms  %4d ms  %s ms\n", ka, km, kr
	printf "ratio devbox/docker:  %.2f (mean)  %.2f (median)  target <= 1.0\n", da / ka, dm / km
	printf "containers left:      %d\n", left
}'
