#!/usr/bin/env bash
# Makes sure a Docker engine answers: starts an installed but stopped one,
# and fails with a clear message where there is none.
set -uo pipefail

if ! command -v docker >/dev/null 2>&1; then
  echo "docker-up: no docker CLI on this machine; install Docker (apt-get install docker.io) — the tests need a real engine" >&2
  exit 1
fi
docker info >/dev/null 2>&1 && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "docker-up: engine not answering; trying to start it" >&2
if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files docker.service >/dev/null 2>&1; then
  $SUDO systemctl start docker >/dev/null 2>&1
fi
docker info >/dev/null 2>&1 || { command -v service >/dev/null 2>&1 && $SUDO service docker start >/dev/null 2>&1; }
if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1; then
  $SUDO sh -c 'nohup dockerd >/var/log/dockerd-devbox.log 2>&1 &'
fi
for _ in $(seq 1 30); do
  docker info >/dev/null 2>&1 && { echo "docker-up: engine started" >&2; exit 0; }
  sleep 1
done
echo "docker-up: the Docker engine is installed but did not start within 30 s (see 'docker info', /var/log/dockerd-devbox.log); the tests need it" >&2
exit 1
