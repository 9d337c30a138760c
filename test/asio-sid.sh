#!/bin/sh
# Fetches the Asio of Debian sid into a cache directory (default
# build/asio-sid) and prints its include directory: Debian 12's Asio
# (1.22) predates much of the io_uring backend. Asio is headers only; the
# source package is asked for first, and when its files cannot be had the
# libasio-dev package, which holds the same headers. A second run finds
# the cache and only prints. Without network or apt-get it fails, and
# says so. apt-get runs with a private configuration under the cache
# directory: the system's apt sources are left alone.
set -eu

dest=${1:-build/asio-sid}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
inc="$dest/include"

if [ -f "$inc/asio/version.hpp" ]; then
	echo "$inc"
	exit 0
fi

fail() {
	echo "asio-sid: $*" >&2
	exit 1
}

sid_types="deb deb-src"
. "$(dirname "$0")/sid-apt.sh"
rm -rf "$dest/src" "$dest/pkg" "$inc"
mkdir -p "$dest/src" "$dest/pkg"

if (cd "$dest/src" && apt-get "$@" -qq source --download-only asio) \
	>/dev/null 2>&1; then
	tarball=$(find "$dest/src" -maxdepth 1 -name 'asio_*.orig.tar.*' | head -n 1)
	tar -xf "$tarball" -C "$dest/src" || fail "could not unpack $tarball"
	tree=$(find "$dest/src" -mindepth 1 -maxdepth 1 -type d -name 'asio-*' | head -n 1)
	# The upstream tarball has the headers under include/ (or asio/include/).
	[ -d "$tree/include/asio" ] || tree="$tree/asio"
	cp -R "$tree/include" "$inc"
elif (cd "$dest/pkg" && apt-get "$@" -qq download libasio-dev) \
	>/dev/null 2>&1; then
	echo "asio-sid: the asio source package could not be fetched; using the libasio-dev package's headers" >&2
	dpkg-deb -x "$dest"/pkg/libasio-dev_*.deb "$dest/pkg/root" ||
		fail "could not unpack the libasio-dev package"
	cp -R "$dest/pkg/root/usr/include" "$inc"
else
	fail "could not download Debian sid's asio or libasio-dev"
fi
[ -f "$inc/asio/version.hpp" ] || fail "no asio/version.hpp in what was fetched"
echo "$inc"
