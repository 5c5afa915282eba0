#!/usr/bin/env bash
# Installs the Debian packages the tests and bench scripts use. Idempotent;
# a no-op when everything is already there. Needs root (or sudo) and apt.
set -euo pipefail

pkgs=(dnsperf dnsmasq-base postfix swaks busybox-static python3 iproute2 ca-certificates util-linux mount iptables nftables)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix asks how it is used; "No configuration" keeps it from touching the machine.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
