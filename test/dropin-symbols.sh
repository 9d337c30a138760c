#!/bin/sh
# test/dropin-symbols.sh BUILD_DIR
#
# Checks the symbol versions of the drop-in libraries against liburing
# 2.15's (test/dropin-liburing-2.15.txt):
#  - every node of the version script (src/dropin/*.map) is a version the
#    library defines;
#  - every function the library exports is at liburing's version for it;
#  - every public function of the library's objects is exported (one that
#    is in no node of the script would silently stay hidden).
# It fails on those. It also lists the functions of liburing 2.15 that the
# library does not define yet, without failing: the list shrinks as the
# API grows.
set -eu
export LC_ALL=C
O=${1:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ua-symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

# "name node" for each function liburing 2.15 exports from LIBRARY.
reference() {
	awk -v lib="$1" '$1 == lib { print $3, $2 }' test/dropin-liburing-2.15.txt
}

# "name version" for each function or object the library defines.
exported() {
	readelf --dyn-syms -W "$1" | awk '
	$7 != "UND" && $7 != "ABS" && ($5 == "GLOBAL" || $5 == "WEAK") &&
	($4 == "FUNC" || $4 == "OBJECT") {
		n = split($8, p, "@")
		print p[1], (n > 1 ? p[n] : "-")
	}' | sort -u
}

# The public (default-visibility) functions the given objects define.
public_in() {
	for o in "$@"; do readelf -sW "$o"; done | awk '
	$7 != "UND" && $5 == "GLOBAL" && $6 == "DEFAULT" && $4 == "FUNC" { print $8 }' |
	sort -u
}

libc_fronts="poll ppoll __poll_chk __ppoll_chk select pselect epoll_ctl \
epoll_wait epoll_pwait epoll_pwait2 mmap mmap64"

nodes_of() {
	awk '/^[A-Z0-9_.]+ *\{/ { print $1 }' "$1"
}

# check LIBRARY MAP OBJECTS... : the objects whose public functions must
# all be exported.
check() {
	lib=$1 map=$2
	shift 2
	name=${lib##*/}
	[ -f "$lib" ] || { echo "$lib: not built"; failed=1; return; }
	reference "$name" | sort -u >"$tmp/map"
	exported "$lib" >"$tmp/exp"
	readelf -VW "$lib" | awk '/Name: LIBURING_/ { print $NF }' | sort -u >"$tmp/vers"
	for node in $(nodes_of "$map"); do
		grep -qx "$node" "$tmp/vers" || {
			echo "$name: version node $node missing"; failed=1; }
	done
	# An exported name in no node, or in another node than the script's.
	join -a1 -e NONE -o 1.1,1.2,2.2 "$tmp/exp" "$tmp/map" |
	while read -r sym have want; do
		[ "$have" = "$want" ] && continue
		echo "$name: $sym is at version $have, liburing 2.15 has it at $want"
		echo x >>"$tmp/bad"
	done
	# A public function of ours the library does not export at all. The
	# C library's functions of src/engine/ringpoll.c are liburing-alike's
	# only: a program linked against liburing asks for the C library's
	# versions of them, which no definition of a drop-in could match.
	public_in "$@" | while read -r sym; do
		grep -q "^$sym " "$tmp/exp" && continue
		echo " $libc_fronts " | grep -q " $sym " && continue
		echo "$name: $sym is public but in no node of $map"
		echo x >>"$tmp/bad"
	done
	[ -e "$tmp/bad" ] && { failed=1; rm -f "$tmp/bad"; }
	missing=$(join -v1 "$tmp/map" "$tmp/exp" | awk '{ print $1 }')
	total=$(wc -l <"$tmp/map")
	if [ -n "$missing" ]; then
		echo "$name: $(echo "$missing" | wc -l) of $total liburing 2.15 functions not defined yet:"
		echo "$missing" | tr '\n' ' ' | fold -s -w 72 | sed 's/^/    /'
		echo
	else
		echo "$name: all $total liburing 2.15 functions defined"
	fi
}

# The library objects, as the Makefile lists them (LIB_SRCS).
objs=$(for c in src/*.c src/engine/*.c; do echo "$O/${c%.c}.o"; done)
# liburing.so.2 links the ffi object only for io_uring_get_sqe (programs
# built against liburing 2.0 to 2.2 call it), so its other inline
# functions stay hidden there; liburing-ffi.so.2 exports what liburing-ffi exports, which
# leaves out the internal ones (__io_uring_prep_poll_mask ...).
# shellcheck disable=SC2086 # a list of object files
check "$O/uring-alike/liburing.so.2" src/dropin/liburing.map $objs
# shellcheck disable=SC2086
check "$O/uring-alike/liburing-ffi.so.2" src/dropin/liburing-ffi.map $objs
[ "$failed" -eq 0 ] && echo "dropin-symbols: every exported function is in its node"
exit "$failed"
