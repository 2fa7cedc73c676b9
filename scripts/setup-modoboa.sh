#!/usr/bin/env bash
# Installs the pinned Modoboa (scripts/modoboa-requirements.txt) into a cached virtualenv, once per machine; prints its path.
#
# Idempotent: when the venv for the current pin list is complete it only prints the path (well under a second).
# The cache root is $INFRASEC_CACHE_DIR, else /var/cache/infrasec when writable, else ${XDG_CACHE_HOME:-~/.cache}/infrasec.
# The venv is keyed by the Modoboa version and a digest of the pin list, so a new pin list gets a new venv.
# Needs the Debian packages below (scripts/setup.sh installs them as root): this script checks, it never installs them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
requirements="$here/modoboa-requirements.txt"

fail() {
  echo "setup-modoboa: $*" >&2
  exit 1
}

[ -f "$requirements" ] || fail "missing $requirements"

# python3-venv: Debian's python3 without it cannot make a venv with pip. python3-dev, gcc, libldap-dev, libsasl2-dev,
# librrd-dev: python-ldap and rrdtool-bindings come as source only and are compiled here. libmagic1: python-magic loads it.
debs=(python3-venv python3-dev gcc libldap-dev libsasl2-dev librrd-dev libmagic1)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || fail "missing Debian packages: ${missing[*]} (run scripts/setup.sh as root, or apt-get install them)"

# Debian's interpreter, not whatever python3 comes first on PATH (pyenv shims and the like): the venv must outlive them.
python="${INFRASEC_MODOBOA_PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || fail "no Python interpreter at $python (set INFRASEC_MODOBOA_PYTHON)"

version="$(sed -n 's/^modoboa==\(.*\)$/\1/p' "$requirements")"
[ -n "$version" ] || fail "$requirements pins no modoboa version"
digest="$( (cat "$requirements"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)"

if [ -n "${INFRASEC_CACHE_DIR:-}" ]; then
  root="$INFRASEC_CACHE_DIR"
elif mkdir -p /var/cache/infrasec 2>/dev/null && [ -w /var/cache/infrasec ]; then
  root=/var/cache/infrasec
else
  root="${XDG_CACHE_HOME:-$HOME/.cache}/infrasec"
fi
mkdir -p "$root" || fail "cannot create the cache directory $root"
venv="$root/modoboa-$version-$digest"

if [ -f "$venv/.infrasec-complete" ]; then
  echo "$venv"
  exit 0
fi

# One installer at a time; a second caller waits, then finds the venv complete. A venv cannot be moved after it is
# built (its scripts name their interpreter by absolute path), so it is built in place and marked complete last.
exec 9>"$root/.modoboa.lock"
flock -w 900 9 || fail "waited 15 min for another installation of Modoboa into $root"
if [ -f "$venv/.infrasec-complete" ]; then
  echo "$venv"
  exit 0
fi
rm -rf "$venv"
echo "setup-modoboa: installing modoboa $version into $venv (a few minutes the first time)" >&2
log="$root/modoboa-$version-$digest.install.log"
if ! "$python" -m venv "$venv" >"$log" 2>&1; then
  rm -rf "$venv"
  fail "$python -m venv failed (is python3-venv installed?): $(tail -3 "$log")"
fi
if ! "$venv/bin/pip" install --no-input --disable-pip-version-check -r "$requirements" >>"$log" 2>&1; then
  rm -rf "$venv"
  fail "pip install -r $requirements failed; the end of $log says:
$(grep -E 'error|ERROR|fatal' "$log" | tail -8)"
fi
if ! "$venv/bin/python" -c 'import modoboa, django_auth_ldap, ldap, gunicorn' >>"$log" 2>&1; then
  rm -rf "$venv"
  fail "the new venv cannot import modoboa, ldap and gunicorn: $(tail -3 "$log")"
fi
date -u +%FT%TZ >"$venv/.infrasec-complete"
echo "$venv"
