#!/bin/sh
# Installs into a scratch DESTDIR, builds an unchanged liburing program with
# pkg-config against the installed copy, runs it, uninstalls, and checks
# that nothing is left behind.
set -eu
dest=$(mktemp -d "${TMPDIR:-/tmp}/ua-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr/local >/dev/null
pc_dir=$dest/usr/local/lib/pkgconfig
flags=$(PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR="$pc_dir" \
	pkg-config --cflags --libs uring-alike)
cc -o "$dest/io_uring-test" examples/io_uring-test.c $flags
LD_LIBRARY_PATH=$dest/usr/local/lib "$dest/io_uring-test" README.md
for page in io_uring_submit.3 io_uring_setup.2 uring-alike.7; do
	sec=${page##*.}
	[ -f "$dest/usr/local/share/man/man$sec/$page" ] || {
		echo "install-check: man page $page not installed" >&2; exit 1; }
done
make -s uninstall DESTDIR="$dest" PREFIX=/usr/local
rm -f "$dest/io_uring-test"
left=$(find "$dest" -type f -o -type l | head -5)
if [ -n "$left" ]; then
	echo "install-check: left behind after uninstall:" >&2
	echo "$left" >&2
	exit 1
fi
echo "install-check: install, pkg-config build and uninstall are fine"
