#!/usr/bin/env bash
# Installs what the exporter tests run against: Debian's prometheus and
# prometheus-pushgateway. Idempotent and quiet: does nothing when both are on PATH.
# Needs root (or sudo) and Debian's package index; the tests start their own instances.
set -euo pipefail

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
# The prof HTML report is checked in headless Chromium.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
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

echo "installing ${missing[*]} (Debian packages) for the exporter tests"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services where systemd runs; the tests use their own instances
# on free ports, so those are left alone.
command -v prometheus >/dev/null && command -v prometheus-pushgateway >/dev/null && command -v chromium >/dev/null
