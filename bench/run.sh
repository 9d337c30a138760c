#!/bin/sh
# Compares uring-alike with the kernel's io_uring: the same uring-bench
# source linked both ways runs each workload several times, alternating
# the two builds so drift in machine load hits both alike, and the median
# of each is reported.
# The file workloads also run as plain synchronous loops and, when
# UV_BENCH is given, on libuv's thread pool: the other peers.
# Usage: sh bench/run.sh OURS_BENCH KERNEL_BENCH [UV_BENCH]
# Environment: BENCH_RUNS (default 3), BENCH_SECONDS per run (default 1.5).
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: sh bench/run.sh OURS_BENCH KERNEL_BENCH [UV_BENCH]" >&2
	exit 2
fi
ours=$1
kernel=$2
uv=${3:-}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-1.5}
for bin in "$ours" "$kernel"; do
	if [ ! -x "$bin" ]; then
		echo "bench: $bin is missing; build it first" >&2
		exit 1
	fi
done
# A run that overstays its time by this much is taken to be hung.
limit=$(awk -v s="$seconds" 'BEGIN { print int(s) + 30 }')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uring-bench.XXXXXX")
pid=
watchdog=
# Background jobs ignore SIGINT, so an interrupted run is stopped here.
cleanup() {
	[ -z "$pid" ] || kill "$pid" "$watchdog" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

data=$tmp/data.bin
results=$tmp/results
: >"$results"
dd if=/dev/urandom of="$data" bs=1048576 count=256 2>/dev/null
# Reads are meant to measure the ring, not the disk: warm the page cache.
cat "$data" >/dev/null
writes=$tmp/writes.bin
syncs=$tmp/syncs.bin
# O_DIRECT rows need a filesystem that takes it (tmpfs does not).
direct=
if dd if="$data" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
	direct=1
fi

# Runs one benchmark with a watchdog and appends "WORKLOAD IMPL VALUE" (or
# FAIL) to the results, one line for each figure the workload reports.
measure() {
	workload=$1 impl=$2 bin=$3
	shift 3
	"$bin" "$@" --seconds "$seconds" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	(
		trap 'kill "$sleeper" 2>/dev/null; wait "$sleeper"; exit 0' TERM
		sleep "$limit" &
		sleeper=$!
		wait "$sleeper"
		kill -KILL "$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	watchdog=$!
	status=0
	wait "$pid" || status=$?
	kill "$watchdog" 2>/dev/null || true
	wait "$watchdog" || true
	pid=

	# Latency rows compare µs, memory rows KiB, the others throughput:
	# the first figure is the workload's row, the next ones get rows
	# named WORKLOAD.FIGURE.
	case $workload in
	timeout) figures=median_us ;;
	wake) figures="median_us p99_us" ;;
	idle) figures="vmsize_kib rss_kib" ;;
	*) figures=ops_per_sec ;;
	esac
	# The first figure names the row WORKLOAD, the next WORKLOAD.FIGURE.
	row=
	for figure in $figures; do
		row=${row:+$workload.$figure}
		row=${row:-$workload}
		rate=$(awk -v f="$figure=" '{ for (i = 1; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1) }' "$tmp/out")
		if [ "$status" -ne 0 ] || [ -z "$rate" ]; then
			if [ "$status" -eq 137 ]; then
				echo "bench: $impl $workload hung: killed after ${limit}s" >&2
			else
				echo "bench: $impl $workload failed (exit $status):" >&2
			fi
			cat "$tmp/err" >&2
			rate=FAIL
		fi
		echo "$row $impl $rate" >>"$results"
	done
	printf '.' >&2
}

echo "bench: $runs rounds of about 50 runs, ${seconds}s each" >&2
round=1
while [ "$round" -le "$runs" ]; do
	measure nop32 ours "$ours" --mode nop --batch 32
	measure nop32 kernel "$kernel" --mode nop --batch 32
	measure nop1 ours "$ours" --mode nop --batch 1
	measure nop1 kernel "$kernel" --mode nop --batch 1
	measure read ours "$ours" --mode read --file "$data" --qd 32 --bs 4096
	measure read kernel "$kernel" --mode read --file "$data" --qd 32 --bs 4096
	measure pread ours "$ours" --mode pread --file "$data" --bs 4096
	[ -z "$uv" ] || measure read uv "$uv" --mode read --file "$data" --qd 32
	# SQPOLL: the submission thread consumes the SQ (both sides spin).
	measure nop32sq ours "$ours" --mode nop --batch 32 --sqpoll
	measure nop32sq kernel "$kernel" --mode nop --batch 32 --sqpoll
	measure nop1sq ours "$ours" --mode nop --batch 1 --sqpoll
	measure nop1sq kernel "$kernel" --mode nop --batch 1 --sqpoll
	measure readsq ours "$ours" --mode read --file "$data" --qd 32 --bs 4096 --sqpoll
	measure readsq kernel "$kernel" --mode read --file "$data" --qd 32 --bs 4096 --sqpoll
	# The same reads where every system call runs a 1000-rule seccomp
	# filter the kernel cannot cache, as in containers whose profile
	# checks arguments: syscalls are dear there.
	measure readdear ours "$ours" --mode read --file "$data" --dear-syscalls
	measure readdear kernel "$kernel" --mode read --file "$data" --dear-syscalls
	measure readdear sync "$ours" --mode pread --file "$data" --dear-syscalls
	if [ -n "$direct" ]; then
		measure direct ours "$ours" --mode read --direct --file "$data"
		measure direct kernel "$kernel" --mode read --direct --file "$data"
		measure direct sync "$ours" --mode pread --direct --file "$data"
		[ -z "$uv" ] || measure direct uv "$uv" --mode read --direct --file "$data"
	fi
	measure write ours "$ours" --mode write --file "$writes"
	measure write kernel "$kernel" --mode write --file "$writes"
	measure write sync "$ours" --mode pwrite --file "$writes"
	[ -z "$uv" ] || measure write uv "$uv" --mode write --file "$writes"
	measure fsync ours "$ours" --mode fsync --file "$syncs"
	measure fsync kernel "$kernel" --mode fsync --file "$syncs"
	measure fsync sync "$ours" --mode wsync --file "$syncs"
	[ -z "$uv" ] || measure fsync uv "$uv" --mode fsync --file "$syncs"
	measure nop32ev ours "$ours" --mode nop --batch 32 --eventfd
	measure nop32ev kernel "$kernel" --mode nop --batch 32 --eventfd
	measure evchurn ours "$ours" --mode evchurn --batch 32
	measure evchurn kernel "$kernel" --mode evchurn --batch 32
	measure cycle ours "$ours" --mode cycle
	measure cycle kernel "$kernel" --mode cycle
	measure cycleread ours "$ours" --mode cycle --file "$data"
	measure cycleread kernel "$kernel" --mode cycle --file "$data"
	measure timeout ours "$ours" --mode timeout --usec 1000
	measure timeout kernel "$kernel" --mode timeout --usec 1000
	measure wake ours "$ours" --mode wake
	measure wake kernel "$kernel" --mode wake
	measure idle ours "$ours" --mode idle --entries 4096
	measure idle kernel "$kernel" --mode idle --entries 4096
	# Registered-file updates while fixed-file reads wait on empty pipes,
	# and the same with the ring drained before each update (quiesce).
	for n in 1 1000; do
		measure "fupdate$n" ours "$ours" --mode fupdate --inflight "$n"
		measure "fupdate$n" kernel "$kernel" --mode fupdate --inflight "$n"
	done
	measure fupdateq ours "$ours" --mode fupdate --inflight 1000 --quiesce
	measure fupdateq kernel "$kernel" --mode fupdate --inflight 1000 --quiesce
	round=$((round + 1))
done
echo >&2

awk -v runs="$runs" -v seconds="$seconds" '
function median(key,    n, i, j, v, tmp) {
	if ((key in failed) || !(key in count))
		return "FAIL"
	n = count[key]
	for (i = 1; i <= n; i++)
		v[i] = values[key, i]
	for (i = 2; i <= n; i++)	# insertion sort: n is tiny
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			tmp = v[j]; v[j] = v[j - 1]; v[j - 1] = tmp
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function ratio(a, b) {
	return (a == "FAIL" || b == "FAIL" || b == 0) ? "-" : sprintf("%.2f", a / b)
}
function rate(r) {
	return r == "FAIL" ? r : sprintf("%.0f", r)
}
function us(r) {
	return r == "FAIL" ? r : sprintf("%.1f", r)
}
function opt(r) {
	return r == "FAIL" ? "-" : rate(r)
}
{
	key = $1 " " $2
	if ($3 == "FAIL")
		failed[key] = 1
	else
		values[key, ++count[key]] = $3
}
END {
	pread = median("pread ours")
	printf "median of %d runs of %ss; random reads of a 256 MiB page-cached file\n", runs, seconds
	printf "peers: kernel = the same source on the kernel io_uring (system liburing);\n"
	printf "sync = a plain synchronous loop (QD 1); libuv = its thread pool\n"
	printf "rows in ops/s: a ratio above 1 is ahead; rows in us or KiB: below 1 is ahead\n\n"
	fmt = "%-30s %11s %11s %11s %11s %8s %8s %8s\n"
	printf fmt, "workload", "uring-alike", "kernel", "sync", "libuv", "/kernel", "/sync", "/libuv"
	n = split("nop32 nop1 read readdear nop32sq nop1sq readsq direct write fsync nop32ev evchurn cycle cycleread fupdate1 fupdate1000 fupdateq timeout wake wake.p99_us idle idle.rss_kib", rows, " ")
	names["nop32"] = "nop batch 32"
	names["nop1"] = "nop batch 1"
	names["read"] = "read 4K cached qd 32"
	names["readdear"] = "same, dear syscalls"
	names["nop32sq"] = "SQPOLL nop batch 32"
	names["nop1sq"] = "SQPOLL nop batch 1"
	names["readsq"] = "SQPOLL read 4K qd 32"
	names["direct"] = "read 4K O_DIRECT qd 32"
	names["write"] = "write 64K seq qd 8"
	names["fsync"] = "write 4K+fsync x16"
	names["nop32ev"] = "nop 32 + eventfd"
	names["evchurn"] = "eventfd churn"
	names["cycle"] = "ring + NOP + exit"
	names["cycleread"] = "ring + read + exit"
	names["fupdate1"] = "file update, 1 read parked"
	names["fupdate1000"] = "file update, 1000 parked"
	names["fupdateq"] = "quiesce + update, 1000 parked"
	names["timeout"] = "1 ms timeout, median (us)"
	names["wake"] = "pipe wakeup, median (us)"
	names["wake.p99_us"] = "pipe wakeup, p99 (us)"
	names["idle"] = "idle 4096 ring, VmSize (KiB)"
	names["idle.rss_kib"] = "idle 4096 ring, RSS (KiB)"
	latency["timeout"] = latency["wake"] = latency["wake.p99_us"] = 1
	for (i = 1; i <= n; i++) {
		w = rows[i]
		o = median(w " ours")
		k = median(w " kernel")
		sy = w == "read" ? pread : median(w " sync")
		u = median(w " uv")
		if (!((w " ours") in count) && !((w " ours") in failed))
			continue	# not measured here (no O_DIRECT)
		if (w in latency)
			printf fmt, names[w], us(o), us(k), "", "", ratio(o, k), "", ""
		else if (w ~ /^idle/)
			printf fmt, names[w], rate(o), rate(k), "", "", ratio(o, k), "", ""
		else
			printf fmt, names[w], rate(o), rate(k), opt(sy), opt(u), ratio(o, k), ratio(o, sy), ratio(o, u)
	}
	printf "\neventfd churn: rounds of register + 32 NOP completions + unregister\n"
	printf "ring + NOP/read + exit: rings set up, used once and exited\n"
	printf "file update: registered-file updates while fixed-file reads wait on empty pipes\n"
	printf "pipe wakeup: a READ parked on an empty pipe, from another thread'"'"'s write to the CQE\n"
	printf "idle ring: VmSize and RSS one idle 4096-entry ring adds to a process\n"
	o1 = median("fupdate1 ours")
	o1000 = median("fupdate1000 ours")
	printf "ours, file update 1000 parked / 1 parked: %s (goal >= 0.8); ", ratio(o1000, o1)
	printf "1000 parked / quiesced: %s\n", ratio(o1000, median("fupdateq ours"))
	for (key in failed)
		bad = 1
	exit bad
}' "$results"
