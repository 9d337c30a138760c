#!/bin/sh
# Builds examples/asio/asio-demo.cpp with Asio's io_uring backend
# (ASIO_HAS_IO_URING, ASIO_DISABLE_EPOLL) against uring-alike's header and
# the library in build/ (make lib first), and runs it. Needs a C++ compiler
# and Asio (Debian: libasio-dev); $1 may name an Asio include directory.
set -eu
cd "$(dirname "$0")/.."
asio_inc=${1:-/usr/include}
[ -f "$asio_inc/asio.hpp" ] || { echo "asio-check: no asio.hpp in $asio_inc (apt-get install libasio-dev)" >&2; exit 1; }
out=build/examples/asio-demo
mkdir -p "$(dirname "$out")"
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -O1 -DASIO_HAS_IO_URING \
	-DASIO_DISABLE_EPOLL -Iinclude -I"$asio_inc" examples/asio/asio-demo.cpp \
	-o "$out" -Lbuild -Wl,-rpath,"$(pwd)/build" -luring-alike -pthread
"$out"
