#!/usr/bin/env bash
# Installs what the tests run against: Debian's prometheus (with promtool, which
# scripts/check-stack.sh uses) and prometheus-pushgateway (the
# exporter tests), and a headless browser (the HTML report test). Idempotent and quiet:
# does nothing when all are there.
# Needs root (or sudo) and Debian's package index; the tests start their own instances.
set -euo pipefail

# The prof HTML report is checked in a headless Chromium-family browser, found as the
# browser test finds it (crates/prof/tests/browser.rs): $STARKSCOPE_BROWSER, Debian's
# `chromium`, Google Chrome (which GitHub's Ubuntu runners ship: Ubuntu has no chromium
# deb, and its `chromium-browser` is a stub that installs a snap), or a `chromium-browser`
# that is not that stub.
have_browser() {
  if [ -n "${STARKSCOPE_BROWSER:-}" ]; then
    [ -x "$STARKSCOPE_BROWSER" ] && return 0
    echo "error: STARKSCOPE_BROWSER=$STARKSCOPE_BROWSER is not an executable" >&2
    exit 1
  fi
  local b
  for b in chromium google-chrome-stable google-chrome; do
    command -v "$b" >/dev/null 2>&1 && return 0
  done
  b=$(command -v chromium-browser 2>/dev/null) || return 1
  ! grep -qs snap "$b"
}

missing=()
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
browser_missing=0
have_browser || browser_missing=1
if [ "${#missing[@]}" -eq 0 ] && [ "$browser_missing" = 0 ]; then
  exit 0
fi
if [ "$browser_missing" = 1 ]; then
  missing+=("a browser")
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ${missing[*]} missing and apt-get unavailable; install them to run the exporter tests" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "error: ${missing[*]} missing; run this script as root to install them" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
packages=()
for m in "${missing[@]}"; do
  [ "$m" = "a browser" ] || packages+=("$m")
done
if [ "$browser_missing" = 1 ]; then
  if apt-cache show chromium >/dev/null 2>&1; then
    packages+=(chromium)
  else
    echo "error: no Chromium-family browser, and this system's packages have no chromium" >&2
    echo "(Ubuntu ships it only as a snap): install Google Chrome or Chromium, or point" >&2
    echo "STARKSCOPE_BROWSER at one" >&2
    exit 1
  fi
fi
echo "installing ${packages[*]} (Debian packages) for the tests"
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The packages start system services where systemd runs; the tests use their own instances
# on free ports, so those are left alone.
command -v prometheus >/dev/null && command -v promtool >/dev/null \
  && command -v prometheus-pushgateway >/dev/null && have_browser
