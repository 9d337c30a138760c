#!/bin/sh
# Builds the Asio examples (examples/asio/) with Asio's io_uring backend
# (ASIO_HAS_IO_URING, ASIO_DISABLE_EPOLL) against uring-alike's header and
# the library in build/ (make lib first), and runs them: asio-demo (one
# ring: sockets, a timer, a file) and asio-rings (two io_contexts, two
# rings on two threads, and a wait on a third ring's descriptor). Each is
# built with the system's Asio (Debian: libasio-dev) and with Debian sid's
# (test/asio-sid.sh, cached in build/asio-sid; skipped, and said so, when
# it cannot be fetched). asio-rings also runs on the kernel's io_uring,
# built against the liburing of build/liburing-ref, where io_uring works.
# $1 may name the system Asio's include directory.
set -eu
cd "$(dirname "$0")/.."
asio_inc=${1:-/usr/include}
[ -f "$asio_inc/asio.hpp" ] || { echo "asio-check: no asio.hpp in $asio_inc (apt-get install libasio-dev)" >&2; exit 1; }
out=build/examples
mkdir -p "$out"
CXXFLAGS="-std=c++17 -Wall -Wextra -Werror -O1 -DASIO_HAS_IO_URING -DASIO_DISABLE_EPOLL"

asio_version() {
	sed -n 's|^#define ASIO_VERSION \([0-9]*\).*|\1|p' "$1/asio/version.hpp" |
	awk '{ printf "%d.%d.%d", $1 / 100000, $1 / 100 % 1000, $1 % 100 }'
}

# run NAME ASIO_INCLUDE TAG
run() {
	bin="$out/$1-$3"
	# shellcheck disable=SC2086 # a list of flags
	${CXX:-c++} $CXXFLAGS -Iinclude -I"$2" "examples/asio/$1.cpp" -o "$bin" \
		-Lbuild -Wl,-rpath,"$(pwd)/build" -luring-alike -pthread
	echo "asio-check: $1 with Asio $(asio_version "$2") on uring-alike"
	"$bin"
}

# The same program on the kernel's io_uring, when the machine has it.
run_kernel() {
	ref=build/liburing-ref
	[ -f "$ref/lib/liburing.a" ] || { echo "asio-check: no $ref (make liburing-ref): $1 not run on the kernel"; return 0; }
	bin="$out/$1-$3.kernel"
	# shellcheck disable=SC2086
	${CXX:-c++} $CXXFLAGS -I"$ref/include" -I"$2" "examples/asio/$1.cpp" \
		-o "$bin" "$ref/lib/liburing.a" -pthread
	if "$bin" >"$bin.out" 2>&1; then
		echo "asio-check: $1 with Asio $(asio_version "$2") on the kernel"
		cat "$bin.out"
	elif grep -q "io_uring_queue_init failed" "$bin.out"; then
		echo "asio-check: the kernel's io_uring is not available here: $1 not compared"
	else
		cat "$bin.out" >&2
		echo "asio-check: $1 fails on the kernel's io_uring" >&2
		return 1
	fi
}

for prog in asio-demo asio-rings; do
	run "$prog" "$asio_inc" system
done
run_kernel asio-rings "$asio_inc" system
if sid_inc=$(sh test/asio-sid.sh); then
	for prog in asio-demo asio-rings; do
		run "$prog" "$sid_inc" sid
	done
	run_kernel asio-rings "$sid_inc" sid
else
	echo "asio-check: Debian sid's Asio could not be fetched: checked with the system's only"
fi
