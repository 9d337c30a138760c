#!/bin/sh
# fio.sh LAUNCHER [ARGS...]: fio --ioengine=io_uring, which makes the
# io_uring system calls itself, run through LAUNCHER (for instance
# "uring-alike-run", or "env LD_PRELOAD=.../uring-alike-preload.so")
# inside Docker's seccomp profile, which denies the kernel's io_uring:
# a write with verification data, then a random read that verifies it,
# as on the kernel. Installs fio with apt when it is missing (root).
# SECCOMP_RUN names test/seccomp-run (default build/test/seccomp-run).
set -eu
[ $# -ge 1 ] || { echo "usage: fio.sh LAUNCHER [ARGS...]" >&2; exit 2; }
here=$(dirname "$0")
sh "$here/../deps.sh" fio
seccomp_run=${SECCOMP_RUN:-build/test/seccomp-run}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ua-fio.XXXXXX")
trap 'rm -rf "$dir"' EXIT
job="--name=ua --filename=$dir/data --size=16m --bs=4k --iodepth=32
     --ioengine=io_uring --verify=crc32c --do_verify=1 --minimal
     --verify_state_save=0"
run() {
	where=$1; shift
	"$@" fio $job --rw=write >"$dir/out" 2>&1 &&
		"$@" fio $job --rw=randread --verify_only=1 >>"$dir/out" 2>&1 || {
		echo "fio.sh: fio failed $where:" >&2; cat "$dir/out" >&2; exit 1; }
}
run "on the kernel's io_uring"
run "through $* in Docker's profile" "$seccomp_run" --profile docker -- "$@"
echo "fio.sh: fio wrote and verified through $*, as on the kernel"
