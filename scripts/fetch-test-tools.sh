#!/usr/bin/env bash
# The tools the package tests (test/package/) check the shipped files with: zsh and fish
# (completions), groff and man (the man page), systemd-analyze (the unit) and libseccomp for
# Debian's python3 (the unit's syscall filter). Installs the missing ones with apt-get (root on
# Debian). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for pair in zsh:zsh fish:fish groff:groff-base man:man-db systemd-analyze:systemd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
/usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 || need+=(python3-seccomp)
[ ${#need[@]} -eq 0 ] && exit 0
echo "fetch-test-tools: apt-get install ${need[*]}" >&2
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
