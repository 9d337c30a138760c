#!/bin/sh
# Builds the liburing the kernel comparison (make test-kernel) compiles
# against: liburing 2.15, from Debian's source package, into a cache
# directory (default build/liburing-ref): include/ and lib/liburing.a.
# Nothing of it enters the source tree. A second run finds the cache and
# does nothing. Without network or apt-get it fails, and says so; the
# Makefile then falls back to the system liburing.
#
# apt-get runs with a private configuration (sources, lists and cache all
# under the cache directory): the system's apt sources are left alone.
set -eu

VERSION=2.15
dest=${1:-build/liburing-ref}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
stamp="$dest/.built-$VERSION"

[ -f "$stamp" ] && [ -f "$dest/lib/liburing.a" ] && exit 0

fail() {
	echo "liburing-ref: $*" >&2
	echo "liburing-ref: the kernel comparison uses the system liburing instead" >&2
	exit 1
}

sid_types="deb-src"
. "$(dirname "$0")/sid-apt.sh"
rm -rf "$dest/src"
mkdir -p "$dest/src"
pkgver=$(apt-cache "$@" showsrc liburing 2>/dev/null |
	sed -n "s/^Version: \($VERSION-.*\)/\1/p" | head -n 1)
[ -n "$pkgver" ] ||
	fail "Debian sid's source index has no liburing $VERSION (no network?)"
(cd "$dest/src" && apt-get "$@" -qq source --download-only \
	"liburing=$pkgver" >/dev/null 2>&1) ||
	fail "could not download the liburing $pkgver source package"

tar -xzf "$dest/src/liburing_$VERSION.orig.tar.gz" -C "$dest/src" ||
	fail "could not unpack liburing_$VERSION.orig.tar.gz"
tree="$dest/src/liburing-$VERSION"
(cd "$tree" && ./configure --prefix="$dest" && make -C src -j2) \
	>"$dest/build.log" 2>&1 ||
	fail "could not build liburing $VERSION (see $dest/build.log)"

rm -rf "$dest/include" "$dest/lib"
mkdir -p "$dest/lib"
cp -R "$tree/src/include" "$dest/include"
cp "$tree/src/liburing.a" "$dest/lib/"
touch "$stamp"
echo "liburing-ref: liburing $pkgver built in $dest"
