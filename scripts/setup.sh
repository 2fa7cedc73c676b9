#!/usr/bin/env bash
# Installs what infrasec's demo, tests and benchmarks need on Debian 12 (as root): Samba AD DC,
# LDAP client tools, age, git, then the npm dependencies. Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Named one by one: on Debian 12 what a domain controller needs (samba-ad-provision, samba-dsdb-modules,
# samba-vfs-modules, winbind) are only Recommends of samba, and --no-install-recommends skips them.
debs=(samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldap-utils age git gnupg openssh-client iproute2 openssl)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Install only when the lock file changed since the last install.
stamp=node_modules/.infrasec-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
