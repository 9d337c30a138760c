#!/bin/sh
# Demonstrates the example programs on a real file: read it with
# io_uring-test, copy it twice with io_uring-cp (default and odd settings)
# and once with link-cp, and check every copy byte for byte.
# Usage: sh examples/demo.sh BUILD_EXAMPLES_DIR
set -eu

if [ $# -ne 1 ]; then
	echo "usage: sh examples/demo.sh BUILD_EXAMPLES_DIR" >&2
	exit 2
fi
for prog in io_uring-test io_uring-cp link-cp; do
	if [ ! -x "$1/$prog" ]; then
		echo "demo: $1/$prog is missing; build it first" >&2
		exit 1
	fi
done
# Absolute, because the demo works inside its temporary directory.
bindir=$(cd "$1" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uring-demo.XXXXXX")
cleanup() {
	status=$?
	rm -rf "$tmp"
	[ "$status" -eq 0 ] || echo "demo: FAILED" >&2
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp"

# 64 MiB plus an odd tail, so the last block is a partial one.
dd if=/dev/urandom of=source.bin bs=1048576 count=64 2>/dev/null
dd if=/dev/urandom bs=12345 count=1 2>/dev/null >>source.bin
echo "demo: made source.bin, $(wc -c <source.bin | tr -d ' ') bytes of random data"

echo "demo: io_uring-test reads it back:"
"$bindir/io_uring-test" source.bin

copy_and_check() {
	"$bindir/io_uring-cp" "$@" source.bin copy.bin
	cmp source.bin copy.bin
	echo "demo: io_uring-cp ${*:-(defaults)}: copy.bin is byte-identical"
	rm -f copy.bin
}
copy_and_check
# Many small blocks that do not line up with pages.
copy_and_check -q 64 -b 3000
"$bindir/link-cp" source.bin linked.bin
cmp source.bin linked.bin
echo "demo: link-cp (linked read -> write pairs): linked.bin is byte-identical"

echo "demo: all good"
