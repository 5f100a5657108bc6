#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests of internal/web/e2e when it
# is missing; does nothing when /usr/bin/chromium is there. Safe to run twice.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
