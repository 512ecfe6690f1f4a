#!/bin/sh
# Install Debian's chromium for the browser test of the app (tests/test_app_browser.py), when this
# machine allows it: already installed -> nothing to do; root + apt-get -> install; otherwise say
# why not and exit 0 (the browser test then skips and prints the reason). Never runs
# `playwright install` (it downloads its own browser, which is not what the test uses).
set -u
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then
    echo "ensure_chromium: $(command -v "$c") is installed"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no apt-get on this machine; install chromium yourself to run the browser test"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_chromium: not root; run 'sudo apt-get install -y chromium chromium-driver' to enable the browser test"
  exit 0
fi
echo "ensure_chromium: installing Debian chromium (about 500 MB)..."
if apt-get update -q >/dev/null && \
   DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; then
  echo "ensure_chromium: installed $(command -v chromium)"
else
  echo "ensure_chromium: apt-get could not install chromium; the browser test will be skipped"
fi
exit 0
