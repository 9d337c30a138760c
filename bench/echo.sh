#!/bin/sh
# Loopback TCP echo: 16 connections, 64-byte ping-pong. The server and the
# client are separate processes pinned to separate CPUs. Servers: the same
# echo-server source against uring-alike (default setup flags, and
# SINGLE_ISSUER|DEFER_TASKRUN) and against the kernel's io_uring (default
# flags), and an epoll server. The client is the same plain-epoll program
# for all. Runs alternate between servers; the median of each is reported.
# Usage: sh bench/echo.sh EXAMPLES_DIR
# Environment: BENCH_RUNS (default 3), BENCH_SECONDS per run (default 1.5),
# ECHO_CONNS (16), ECHO_SIZE (64).
set -eu

dir=${1:?usage: sh bench/echo.sh EXAMPLES_DIR}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-1.5}
conns=${ECHO_CONNS:-16}
size=${ECHO_SIZE:-64}
for bin in echo-server echo-server.kernel echo-epoll echo-client; do
	if [ ! -x "$dir/$bin" ]; then
		echo "bench: $dir/$bin is missing; build it first" >&2
		exit 1
	fi
done
ncpu=$(getconf _NPROCESSORS_ONLN)
if [ "$ncpu" -ge 2 ]; then
	server_cpu="taskset -c 0"
	client_cpu="taskset -c 1"
else
	server_cpu=""
	client_cpu=""
fi
limit=$(awk -v s="$seconds" 'BEGIN { print int(s) + 30 }')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echo-bench.XXXXXX")
server=
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
results=$tmp/results
: >"$results"

# Starts a server, waits (bounded) for the port it prints, runs the client
# against it, stops the server; appends "IMPL RATE" (or FAIL).
measure() {
	impl=$1
	shift
	$server_cpu "$@" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
	server=$!
	port=
	tries=0
	while [ -z "$port" ] && [ "$tries" -lt 100 ]; do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
		[ -n "$port" ] || sleep 0.05
		tries=$((tries + 1))
	done
	rate=
	if [ -n "$port" ]; then
		timeout "$limit" $client_cpu "$dir/echo-client" --port "$port" \
			--conns "$conns" --size "$size" --seconds "$seconds" \
			>"$tmp/client.out" 2>"$tmp/client.err" || true
		rate=$(awk -F'rtt_per_sec=' 'NF == 2 { print $2 }' "$tmp/client.out")
	fi
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	server=
	if [ -z "$rate" ]; then
		echo "bench: echo $impl failed:" >&2
		cat "$tmp/server.err" "$tmp/client.err" >&2 2>/dev/null || true
		rate=FAIL
	fi
	echo "$impl $rate" >>"$results"
	printf '.' >&2
}

echo "bench: $runs rounds of 4 echo runs, ${seconds}s each" >&2
round=1
while [ "$round" -le "$runs" ]; do
	measure ours "$dir/echo-server" --mode default
	measure ours-defer "$dir/echo-server" --mode defer
	measure kernel "$dir/echo-server.kernel" --mode default
	measure epoll "$dir/echo-epoll"
	round=$((round + 1))
done
echo >&2

awk -v runs="$runs" -v seconds="$seconds" -v conns="$conns" -v size="$size" '
function median(key,    n, i, j, v, tmp) {
	if ((key in failed) || !(key in count))
		return "FAIL"
	n = count[key]
	for (i = 1; i <= n; i++)
		v[i] = values[key, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			tmp = v[j]; v[j] = v[j - 1]; v[j - 1] = tmp
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function ratio(a, b) {
	return (a == "FAIL" || b == "FAIL" || b == 0) ? "-" : sprintf("%.2f", a / b)
}
{
	if ($2 == "FAIL")
		failed[$1] = 1
	else
		values[$1, ++count[$1]] = $2
}
END {
	printf "\nloopback TCP echo, %d connections, %d-byte ping-pong, median of %d runs of %ss\n\n", conns, size, runs, seconds
	fmt = "%-32s %14s %10s %12s\n"
	printf fmt, "server", "round trips/s", "vs epoll", "vs kernel"
	k = median("kernel"); e = median("epoll")
	split("ours ours-defer kernel epoll", rows, " ")
	names["ours"] = "uring-alike, default flags"
	names["ours-defer"] = "uring-alike, DEFER_TASKRUN"
	names["kernel"] = "kernel io_uring, default flags"
	names["epoll"] = "epoll"
	for (i = 1; i <= 4; i++) {
		m = median(rows[i])
		printf fmt, names[rows[i]], m == "FAIL" ? m : sprintf("%.0f", m), ratio(m, e), ratio(m, k)
	}
	for (key in failed)
		bad = 1
	exit bad
}' "$results"
