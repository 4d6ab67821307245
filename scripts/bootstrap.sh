#!/usr/bin/env bash
# Idempotent install of what Switchboard needs on a Debian/Ubuntu machine.
# Called by `make setup`; safe to run again: it installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have_file() { [ -e "$1" ]; }

# The archive URI of the machine's own Debian sources (deb822 or one-line format).
debian_uri() {
  local uri=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/ {print $2; exit}' $(grep -l -E '^Suites:.*(bookworm|trixie|bullseye)( |$)' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1) 2>/dev/null || true)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file|mirror):/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

add_bullseye() {
  local list=/etc/apt/sources.list.d/switchboard-bullseye.sources
  local pin=/etc/apt/preferences.d/switchboard-bullseye
  if [ ! -f "$list" ]; then
    local uri; uri=$(debian_uri)
    echo "setup: adding Debian bullseye (main) from $uri, pinned at priority 100"
    printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" | $SUDO tee "$list" >/dev/null
  fi
  if [ ! -f "$pin" ]; then
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee "$pin" >/dev/null
  fi
}

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
}
apt_install() {
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if ! have asterisk; then
  add_bullseye
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bullseye asterisk asterisk-core-sounds-en asterisk-moh-opsound-wav
fi
# The unprivileged Asterisk we start must not race the system one the package enabled.
if have systemctl && systemctl is-active --quiet asterisk 2>/dev/null; then $SUDO systemctl disable --now asterisk || true; fi
if pgrep -x asterisk -u asterisk >/dev/null 2>&1; then $SUDO pkill -u asterisk -x asterisk || true; fi

have sipp || need_pkgs+=(sip-tester)
have redis-server || need_pkgs+=(redis-server)
if [ "${SWITCHBOARD_WITH_POSTGRES:-1}" = 1 ]; then
  have_file /usr/lib/postgresql || need_pkgs+=(postgresql)
fi
if [ "${SWITCHBOARD_WITH_BROWSER:-1}" = 1 ]; then
  have chromium || need_pkgs+=(chromium)
  have chromedriver || need_pkgs+=(chromium-driver)
  have_file /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || need_pkgs+=(fonts-dejavu-core)  # text in screenshots
fi
have sox || need_pkgs+=(sox)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${need_pkgs[*]}"
  apt_install "${need_pkgs[@]}"
fi
# Debian starts the packaged servers; our tests and demo start their own on free ports.
for svc in redis-server postgresql; do
  if have systemctl && systemctl is-active --quiet "$svc" 2>/dev/null; then $SUDO systemctl disable --now "$svc" || true; fi
done
echo "setup: system packages ready"
