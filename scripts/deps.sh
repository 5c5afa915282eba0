#!/usr/bin/env bash
# Installs the Debian packages the tests and bench scripts use. Idempotent;
# a no-op when everything is already there. Needs root (or sudo) and apt.
set -euo pipefail

pkgs=(dnsperf dnsmasq-base postfix swaks busybox-static python3 iproute2 ca-certificates util-linux mount iptables nftables openssh-client openssh-server rsync hyperfine strace chromium qemu-user-static)

# Mailpit, the peer of the catch-mode differential test and bench, from the Go module proxy.
if command -v go >/dev/null && ! [ -x "$(go env GOPATH)/bin/mailpit" ]; then
  echo "deps: installing mailpit v1.33.1" >&2
  GOFLAGS= go install github.com/axllent/mailpit@v1.33.1
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# sshd's privilege separation folder: openssh-server's tmpfiles.d entry makes
# it at boot (systemd is not running here); the ssh engine tests start their
# own sshd, never the machine's, and it refuses to start without it.
mk_sshd_run() { [ -d /run/sshd ] || ${SUDO:-} install -d -m 0755 /run/sshd; }
if [ ${#missing[@]} -eq 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  mk_sshd_run
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix asks how it is used; "No configuration" keeps it from touching the machine.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
mk_sshd_run
