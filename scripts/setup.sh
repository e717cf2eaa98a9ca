#!/usr/bin/env bash
# Idempotent set-up used by `npm test` and `npm start`: npm packages, a type check of the sources,
# and (as root on Debian) the Debian packages the lab and the mount need. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(moosefs-master moosefs-chunkserver moosefs-metalogger moosefs-client moosefs-cli moosefs-cgi
      fuse3 libfuse2 keepalived iproute2 tcpdump psmisc gcc libc6-dev)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'install ok installed' || missing+=("$d")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not root (or no apt-get): skipping Debian packages; lab tests will be skipped"
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# "The build": the sources run directly through tsx, so the build is a strict type check.
if [ "${MFS_SKIP_TYPECHECK:-}" != 1 ]; then
  echo "setup: tsc -b (type check)"
  npx tsc -p tsconfig.json
fi
