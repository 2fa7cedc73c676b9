#!/usr/bin/env bash
# Installs what infrasec's demo, tests and benchmarks need on Debian 12 (as root): the Debian packages listed in
# scripts/debian-packages.txt (then checks each one works), the npm dependencies (npm ci), builds dist/, and installs
# Modoboa into its cached venv (scripts/setup-modoboa.sh).
# Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

list=scripts/debian-packages.txt
# "PACKAGE CHECK... # comment" -> "PACKAGE CHECK..." (comments and blank lines dropped)
entries=$(sed -e 's/#.*//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' "$list" | grep -v '^$')

# 1. Debian packages: install the listed ones that are missing, each named explicitly (--no-install-recommends:
#    a Recommends is never relied upon, so whatever is needed is in the list).
missing=()
while read -r pkg _; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done <<< "$entries"
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Check that what is installed does the job: every listed command runs (exit 126/127 or a signal means it is
#    missing or cannot load its libraries; any other status, even for an unknown --version, means it runs) and
#    every listed file exists. A failure names the package.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"   # samba, winbindd, openvpn live in sbin
broken=()
while read -r pkg checks; do
  for check in $checks; do
    if [[ "$check" == /* ]]; then
      compgen -G "$check" >/dev/null || broken+=("$pkg: $check is missing")
    elif ! command -v "$check" >/dev/null 2>&1; then
      broken+=("$pkg: command $check not found")
    else
      status=0
      timeout 10 "$check" --version </dev/null >/dev/null 2>&1 || status=$?
      # 124: timed out; 126/127: cannot execute or a shared library is missing; 129-192: killed by a signal.
      if (( (status >= 124 && status <= 127) || (status > 128 && status <= 192) )); then
        broken+=("$pkg: $check does not run (exit $status)")
      fi
    fi
  done
done <<< "$entries"
if [ ${#broken[@]} -gt 0 ]; then
  printf 'setup: %s\n' "${broken[@]}" >&2
  echo "setup: reinstall the package(s) named above (apt-get install --reinstall --no-install-recommends PACKAGE)" >&2
  exit 1
fi

# 3. npm dependencies, exactly as the lock file says; only when the lock file changed since the last install.
stamp=node_modules/.infrasec-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi

# 4. The compiled CLI (dist/, what bin/infrasec.js and the image run): rebuilt from scratch when it is missing or
#    older than a source file, a JSON Schema (precompiled into dist/desired/schema-validators.cjs, the build's last
#    output) or the build settings, so the demo and the CLI tests run what users run.
built=dist/desired/schema-validators.cjs
if [ ! -f dist/cli.js ] || [ ! -f "$built" ] || [ -n "$(find src schemas scripts/build-validators.ts tsconfig.json tsconfig.build.json package-lock.json -newer "$built" -print -quit)" ]; then
  echo "setup: building dist/ (npm run build)" >&2
  rm -rf dist
  npm run --silent build >&2
fi

# 5. Modoboa (the real one, from PyPI) in a cached virtualenv: scripts/setup-modoboa.sh installs it once per machine
#    and is quick afterwards; the Modoboa harness calls it too, so a test run never depends on this step having run.
bash scripts/setup-modoboa.sh >/dev/null
