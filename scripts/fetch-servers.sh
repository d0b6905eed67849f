#!/usr/bin/env bash
# Fetch and unpack real FTPS servers (vsftpd, ProFTPD + mod_tls, Pure-FTPd, pyftpdlib)
# side by side into .cache/servers/<pkg>/ (or $FTPS_SYNC_SERVERS_DIR/<pkg>/, where the test
# harness then looks) for the integration tests. `npm test` runs it when the servers are missing.
# Idempotent. Needs root on Debian 12 (apt-get). The server packages are never
# installed system-wide (they conflict with each other): only unpacked.
# Their shared-library dependencies (and openssl) are installed with apt-get.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
DEBS="$CACHE/debs"
SERVERS="${FTPS_SYNC_SERVERS_DIR:-$CACHE/servers}"
PKGS=(vsftpd proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common python3-pyftpdlib)
# a folder that may already hold the .deb files (set to "" to always download)
LOCAL_DEBS="${FETCH_SERVERS_LOCAL_DEBS-/tmp/debs}"

mkdir -p "$DEBS" "$SERVERS"

have_deb() { compgen -G "$DEBS/${1}_*.deb" >/dev/null; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    echo "fetch-servers: apt-get update" >&2
    apt-get update -qq >&2 || apt-get update >&2
    APT_UPDATED=1
  fi
}

# 1. get the .deb files (reuse /tmp/debs when present)
missing=()
for p in "${PKGS[@]}"; do
  if ! have_deb "$p"; then
    if [ -n "$LOCAL_DEBS" ] && compgen -G "$LOCAL_DEBS/${p}_*.deb" >/dev/null; then
      cp "$LOCAL_DEBS"/"${p}"_*.deb "$DEBS/"
    else
      missing+=("$p")
    fi
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update_once
  echo "fetch-servers: downloading ${missing[*]}" >&2
  # apt-get download as root warns about the _apt sandbox: harmless
  (cd "$DEBS" && apt-get download "${missing[@]}" 2>&1 | grep -v "unsandboxed" >&2 || true)
  for p in "${missing[@]}"; do
    have_deb "$p" || { echo "fetch-servers: could not download $p" >&2; exit 1; }
  done
fi

# 2. unpack each package into its own folder
for p in "${PKGS[@]}"; do
  deb="$(ls "$DEBS"/"${p}"_*.deb | sort | tail -n1)"
  stamp="$SERVERS/$p/.unpacked-from"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(basename "$deb")" ]; then
    rm -rf "${SERVERS:?}/$p"
    mkdir -p "$SERVERS/$p"
    dpkg-deb -x "$deb" "$SERVERS/$p"
    basename "$deb" >"$stamp"
  fi
done

# 3. shared libraries and tools
need_tools=()
command -v openssl >/dev/null || need_tools+=(openssl)
command -v useradd >/dev/null || need_tools+=(passwd)
command -v chpasswd >/dev/null || need_tools+=(passwd)
# pyftpdlib's TLS handler needs pyOpenSSL for Debian's own python3 (pyftpdlib runs from its unpacked
# folder on PYTHONPATH)
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null || need_tools+=(python3-openssl)

BINS=(
  "$SERVERS/vsftpd/usr/sbin/vsftpd"
  "$SERVERS/proftpd-core/usr/sbin/proftpd"
  "$SERVERS/pure-ftpd/usr/sbin/pure-ftpd"
  "$SERVERS/pure-ftpd/usr/bin/pure-pw"
)
libs_missing() {
  local f
  for f in "${BINS[@]}" "$SERVERS"/proftpd-core/usr/lib/proftpd/mod_*.so "$SERVERS"/proftpd-mod-crypto/usr/lib/proftpd/mod_*.so; do
    [ -e "$f" ] || continue
    LD_LIBRARY_PATH="$SERVERS/proftpd-core/usr/lib/proftpd" ldd "$f" 2>/dev/null | awk '/not found/ {print $1}'
  done | sort -u
}
# library packages named in the debs' Depends (first alternative, no version)
pkgs=()
for p in "${PKGS[@]}"; do
  deb="$(ls "$DEBS"/"${p}"_*.deb | sort | tail -n1)"
  while read -r dep; do
    case "$dep" in
      lib*) dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "ok installed" || pkgs+=("$dep") ;;
    esac
  done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/^ +//; s/ +$//; s/:any$//')
done
# libpam-modules etc. are fine to install too (pam_unix is used by vsftpd)
pkgs+=("${need_tools[@]}")
if [ "${#pkgs[@]}" -gt 0 ]; then
  apt_update_once
  echo "fetch-servers: apt-get install ${pkgs[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >&2
fi
mapfile -t still < <(libs_missing)
if [ "${#still[@]}" -gt 0 ]; then
  echo "fetch-servers: still missing libraries: ${still[*]}" >&2
  exit 1
fi

# ProFTPD has one ModulePath: put mod_digest (HASH, from proftpd-core) beside mod_tls.
ln -sf "$SERVERS/proftpd-core/usr/lib/proftpd/mod_digest.so" "$SERVERS/proftpd-mod-crypto/usr/lib/proftpd/mod_digest.so"

echo "vsftpd:    $SERVERS/vsftpd/usr/sbin/vsftpd"
echo "proftpd:   $SERVERS/proftpd-core/usr/sbin/proftpd (modules: $SERVERS/proftpd-core/usr/lib/proftpd, mod_tls: $SERVERS/proftpd-mod-crypto/usr/lib/proftpd)"
echo "pure-ftpd: $SERVERS/pure-ftpd/usr/sbin/pure-ftpd (pure-pw: $SERVERS/pure-ftpd/usr/bin/pure-pw)"
echo "pyftpdlib: $SERVERS/python3-pyftpdlib/usr/lib/python3/dist-packages (PYTHONPATH)"
