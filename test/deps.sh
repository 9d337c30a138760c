#!/bin/sh
# Makes sure the packages the tests (and the kernel comparison) need are
# installed: installs them with apt-get when run as root, else says how.
missing=""
for pkg in "$@"; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "installing:$missing"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	exit $?
fi
echo "missing packages:$missing; install them with: sudo apt-get install$missing" >&2
exit 1
