#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/system-packages.txt (all groups, or the groups
# named as arguments): what `npm test` cannot provide itself. Needs root or sudo; .ci/run calls it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
list="$here/system-packages.txt"
if ! command -v apt-get >/dev/null; then
  echo "install-system-packages: no apt-get here; install the equivalents of these by hand:" >&2
  grep -v '^#' "$list" | awk 'NF { print "  " $0 }' >&2
  exit 1
fi
groups=" $* "
packages=$(awk -F'|' -v want="$groups" '
  /^#/ || NF < 3 { next }
  { gsub(/ /, "", $1) }
  want == "  " || index(want, " " $1 " ") { printf "%s ", $2 }' "$list" | tr -s ' ')
[ -n "$packages" ] || { echo "install-system-packages: no such group: $*" >&2; exit 2; }
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
# No recommends: openssh-server's would pull in systemd.
# shellcheck disable=SC2086
$sudo_cmd apt-get install -y -qq --no-install-recommends $packages >/dev/null
echo "install-system-packages: installed $packages"
