#!/bin/sh
# The uapi parity test compiles a C program against the system's
# <linux/vfio.h>: install gcc and the Linux uapi headers if they are missing
# (Debian/Ubuntu; needs root, as on CI).
set -e
if command -v gcc >/dev/null 2>&1 && [ -f /usr/include/linux/vfio.h ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-deps: need gcc and /usr/include/linux/vfio.h (package linux-libc-dev); install them and retry" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gcc libc6-dev linux-libc-dev >/dev/null
