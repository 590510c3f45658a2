#!/usr/bin/env bash
# Installs what the console's browser tests drive: Debian's chromium and its chromium-driver (WebDriver), when missing.
# Run by ConsoleIT before it starts a browser; safe to run by hand. Needs root or password-less sudo for apt-get.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "browser-setup: chromium and chromedriver are installed ($(command -v chromium), $(command -v chromedriver))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser-setup: chromium or chromedriver is missing and this is not a Debian-like system (no apt-get)." >&2
  echo "browser-setup: install Chromium and the matching ChromeDriver, and put both on the PATH." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "browser-setup: installing chromium and chromium-driver needs root; run: sudo apt-get install -y chromium chromium-driver" >&2
  exit 1
fi
echo "browser-setup: installing Debian's chromium and chromium-driver (a minute or two)…"
export DEBIAN_FRONTEND=noninteractive
if ! "${run[@]}" apt-get install -y -q chromium chromium-driver; then
  echo "browser-setup: the install failed; refreshing the package lists and trying once more…"
  "${run[@]}" apt-get update -q
  "${run[@]}" apt-get install -y -q chromium chromium-driver
fi
echo "browser-setup: installed $(command -v chromium) and $(command -v chromedriver)"
