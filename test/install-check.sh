#!/bin/sh
# Installs into a scratch DESTDIR, builds an unchanged liburing program with
# pkg-config against the installed copy, runs it, runs one built against
# the system liburing through the installed uring-alike-run, uninstalls,
# and checks that nothing is left behind.
set -eu
dest=$(mktemp -d "${TMPDIR:-/tmp}/ua-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr/local >/dev/null
pc_dir=$dest/usr/local/lib/pkgconfig
flags=$(PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR="$pc_dir" \
	pkg-config --cflags --libs uring-alike)
cc -o "$dest/io_uring-test" examples/io_uring-test.c $flags
LD_LIBRARY_PATH=$dest/usr/local/lib "$dest/io_uring-test" README.md
# The drop-ins only in their own directory, where the system's liburing
# is never shadowed, and the launcher finding them from where it lies.
lib=$dest/usr/local/lib
for f in uring-alike/liburing.so.2 uring-alike/liburing-ffi.so.2; do
	[ -f "$lib/$f" ] || { echo "install-check: $f not installed" >&2; exit 1; }
done
if ls "$lib"/liburing.so* "$lib"/liburing-ffi.so* >/dev/null 2>&1; then
	echo "install-check: a liburing.so is installed in $lib itself" >&2; exit 1
fi
cc -o "$dest/io_uring-test.system" examples/io_uring-test.c -luring
"$dest/usr/local/bin/uring-alike-run" --check "$dest/io_uring-test.system" |
	grep -q "resolves to the drop-in $(cd "$lib/uring-alike" && pwd -P)/liburing.so.2" || {
	echo "install-check: the installed launcher does not find the installed drop-in" >&2
	exit 1; }
"$dest/usr/local/bin/uring-alike-run" "$dest/io_uring-test.system" README.md
for page in io_uring_submit.3 io_uring_setup.2 uring-alike.7 uring-alike-run.1; do
	sec=${page##*.}
	[ -f "$dest/usr/local/share/man/man$sec/$page" ] || {
		echo "install-check: man page $page not installed" >&2; exit 1; }
done
make -s uninstall DESTDIR="$dest" PREFIX=/usr/local
rm -f "$dest/io_uring-test" "$dest/io_uring-test.system"
left=$(find "$dest" -type f -o -type l | head -5)
if [ -n "$left" ]; then
	echo "install-check: left behind after uninstall:" >&2
	echo "$left" >&2
	exit 1
fi
echo "install-check: install, pkg-config build and uninstall are fine"
