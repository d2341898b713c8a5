#!/usr/bin/env bash
# Makes sure a Chromium is on PATH for the browser test (internal/devserver):
# Debian's chromium package, installed with apt-get when missing. Another
# Chrome can be named with CHROMIUM=/path/to/chrome.
set -euo pipefail
if [[ -n "${CHROMIUM:-}" ]] && command -v "$CHROMIUM" >/dev/null; then exit 0; fi
for c in chromium chromium-browser google-chrome; do
	command -v "$c" >/dev/null && exit 0
done
if ! command -v apt-get >/dev/null; then
	echo "install-chromium: no Chromium found and no apt-get: install Chromium or Chrome and set CHROMIUM=/path/to/it" >&2
	exit 1
fi
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
echo "install-chromium: installing Debian's chromium for the browser test"
start=$SECONDS
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: installed in $((SECONDS - start))s"
