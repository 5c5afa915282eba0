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
devbox_ns=0
docker_ns=0
run_devbox() { "$DEVBOX" run --pull never --image "$IMAGE" --network "$NET" true; }
run_docker() { docker run --rm --init --network "$NET" "$IMAGE" true; }

# One warm-up run each, not counted.
run_devbox
run_docker
for ((i = 0; i < N; i++)); do
	t0=$(now); run_devbox; t1=$(now)
	devbox_ns=$((devbox_ns + t1 - t0))
	t0=$(now); run_docker; t1=$(now)
	docker_ns=$((docker_ns + t1 - t0))
done

left=$(docker ps -aq --filter label=devbox.run=true --filter label=devbox.run.parent="$IMAGE" | wc -l)
awk -v n="$N" -v a="$devbox_ns" -v b="$docker_ns" -v left="$left" 'BEGIN {
	da = a / n / 1e6; db = b / n / 1e6
	printf "runs each:            %d (alternating)\n", n
	printf "devbox run (mean):    %.0f ms\n", da
	printf "docker run --rm:      %.0f ms\n", db
	printf "ratio devbox/docker:  %.2f (target <= 1.0)\n", da / db
	printf "containers left:      %d\n", left
}'
