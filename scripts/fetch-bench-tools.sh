#!/usr/bin/env bash
# Installs the peers that `npm run bench` compares ftps-sync with: lftp, rclone and curl,
# from Debian 12's own packages (apt-get, needs root). Idempotent: installs only what is missing.
# The FTPS server itself (vsftpd) comes from scripts/fetch-servers.sh.
set -euo pipefail

need=()
for tool in lftp rclone curl; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -eq 0 ]; then
  echo "fetch-bench-tools: lftp, rclone and curl are already installed" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "fetch-bench-tools: needs root to install ${need[*]}; run: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "fetch-bench-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || apt-get update >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch-bench-tools: $tool still missing after apt-get install" >&2; exit 1; }
done
echo "fetch-bench-tools: installed ${need[*]}" >&2
