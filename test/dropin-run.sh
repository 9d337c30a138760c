#!/bin/sh
# test/dropin-run.sh BUILD_DIR [RAW_URING]
#
# uring-alike-run and the liburing.so.2 drop-in with programs built against
# the system liburing (test/system/*): inside the Docker-like seccomp
# profile, which denies the kernel's io_uring, they fail on their own and
# give the kernel's results through the launcher. Then the launcher's
# environment, its library lookup, --check and its refusals. RAW_URING, a
# program that makes the io_uring system calls itself (test/preload/), goes
# through the launcher too when the preload is built.
set -u
O=${1:-build}
raw=${2:-}
run=$O/uring-alike-run
sys=$O/test/system
# LeakSanitizer stops the world with ptrace, which the profile denies.
docker="env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 $O/test/seccomp-run --profile docker --"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ua-dropin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
# expect WHAT COMMAND...: the command succeeds.
expect() { what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

head -c 300000 /dev/urandom >"$tmp/data"

# The kernel's answers, outside the profile.
"$sys/io_uring-test" "$tmp/data" >"$tmp/test.kernel" 2>&1
"$sys/io_uring-cp" "$tmp/data" "$tmp/copy.kernel"
expect "the system liburing programs work on the kernel" cmp -s "$tmp/data" "$tmp/copy.kernel"

# Without the drop-in the profile stops them.
$docker "$sys/io_uring-cp" "$tmp/data" "$tmp/copy.denied" 2>"$tmp/denied.err"
rc=$?
echo "    without uring-alike-run, inside the profile: exit $rc: $(cat "$tmp/denied.err")"
expect "the profile denies the kernel's io_uring" [ "$rc" -ne 0 ]

# With it, the same answers.
$docker "$run" "$sys/io_uring-test" "$tmp/data" >"$tmp/test.dropin" 2>&1
expect "io_uring-test through the launcher reports what it reports on the kernel" \
	cmp "$tmp/test.kernel" "$tmp/test.dropin"
$docker "$run" "$sys/io_uring-cp" "$tmp/data" "$tmp/copy.dropin"
expect "io_uring-cp through the launcher copies what it copies on the kernel" \
	cmp "$tmp/data" "$tmp/copy.dropin"

# A program with no liburing: the launcher brings the preload.
if [ -n "$raw" ]; then
	$docker "$raw" basic 2>/dev/null
	expect "without uring-alike-run, the raw program fails inside the profile" [ $? -ne 0 ]
	for c in basic fork exec; do
		$docker "$run" "$raw" $c
		expect "the raw program ($c) through the launcher works inside the profile" [ $? -eq 0 ]
	done
fi

# --check, inside and outside the profile.
$docker "$run" --check "$sys/io_uring-cp" >"$tmp/check" 2>&1
expect "--check: exit 0 for a program linked to liburing.so.2" [ $? -eq 0 ]
expect "--check: it resolves to the drop-in" \
	grep -q "^liburing.so.2 .*resolves to the drop-in $(cd "$O" && pwd -P)/uring-alike/liburing.so.2" "$tmp/check"
expect "--check: the kernel's io_uring is denied in the profile" \
	grep -q "^kernel io_uring .*denied (io_uring_setup: EPERM" "$tmp/check"
expect "--check: the engine's ops are listed" grep -q "^emulated ops .* READV" "$tmp/check"
"$run" --check "$sys/io_uring-cp" >"$tmp/check.kernel" 2>&1
expect "--check: the kernel's io_uring is usable outside" \
	grep -q "^kernel io_uring .*usable" "$tmp/check.kernel"
expect "--check: outside, it lists the kernel's operations the engine lacks" \
	grep -q "^kernel-only ops  [0-9]" "$tmp/check.kernel"
"$run" --check /bin/sh >"$tmp/check.sh" 2>&1
rc=$?
if [ -e "$O/uring-alike-preload.so" ]; then
	expect "--check: a program not linked to liburing is served by the preload" [ "$rc" -eq 0 ]
else
	expect "--check: a program not linked to liburing, without the preload, is not served" \
		[ "$rc" -eq 1 ]
	expect "--check: says the preload is not there" \
		grep -q "^preload .*not installed" "$tmp/check.sh"
fi
expect "--check: says a program is not linked to liburing.so.2" \
	grep -q "^liburing.so.2 .*not linked" "$tmp/check.sh"

# The environment: the drop-in directory goes first, the rest is kept.
out=$(LD_LIBRARY_PATH=/opt/a:/opt/b "$run" sh -c 'echo "$LD_LIBRARY_PATH"')
expect "LD_LIBRARY_PATH gets the drop-in first and keeps its entries" \
	[ "$out" = "$(cd "$O/uring-alike" && pwd -P):/opt/a:/opt/b" ]
out=$(LD_LIBRARY_PATH=/opt/a "$run" "$run" sh -c 'echo "$LD_LIBRARY_PATH"')
expect "a nested launcher does not add the drop-in twice" \
	[ "$out" = "$(cd "$O/uring-alike" && pwd -P):/opt/a" ]

# An installed layout: bin/uring-alike-run, lib/uring-alike/{drop-in,preload}.
mkdir -p "$tmp/inst/bin" "$tmp/inst/lib/uring-alike"
cp "$run" "$tmp/inst/bin/"
cp "$O/uring-alike/liburing.so.2" "$tmp/inst/lib/uring-alike/"
cc -shared -o "$tmp/inst/lib/uring-alike/uring-alike-preload.so" -x c /dev/null
out=$(LD_PRELOAD=/opt/x.so "$tmp/inst/bin/uring-alike-run" sh -c \
	'echo "$LD_LIBRARY_PATH $LD_PRELOAD"' 2>/dev/null)
lib=$(cd "$tmp/inst/lib/uring-alike" && pwd -P)
expect "installed: the drop-in and the preload are found relative to the launcher" \
	[ "$out" = "$lib $lib/uring-alike-preload.so:/opt/x.so" ]
out=$("$tmp/inst/bin/uring-alike-run" --no-preload sh -c 'echo "${LD_PRELOAD-unset}"')
expect "--no-preload leaves LD_PRELOAD alone" [ "$out" = unset ]
"$tmp/inst/bin/uring-alike-run" --check /bin/sh >"$tmp/check.inst" 2>&1
expect "--check: says where the preload is" \
	grep -q "^preload .*$lib/uring-alike-preload.so" "$tmp/check.inst"
rm "$tmp/inst/lib/uring-alike/liburing.so.2"
if [ ! -e /usr/local/lib/uring-alike/liburing.so.2 ]; then
	"$tmp/inst/bin/uring-alike-run" true 2>"$tmp/nolib.err"
	expect "without a drop-in it refuses to run" [ $? -eq 126 ]
	expect "without a drop-in it says why" \
		grep -q "cannot find uring-alike's liburing.so.2" "$tmp/nolib.err"
fi

# A set-user-ID program the loader runs in secure-execution mode.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v findmnt >/dev/null; then
	cp /bin/true "$tmp/suid-true"
	chown nobody "$tmp/suid-true"
	chmod 4755 "$tmp/suid-true"
	# Where set-user-ID bits do nothing, there is nothing to say.
	if ! findmnt -n -o OPTIONS --target "$tmp" | grep -q nosuid; then
		"$run" "$tmp/suid-true" 2>"$tmp/suid.err"
		expect "a set-user-ID program: it says the loader ignores the drop-in" \
			grep -q "is set-user-ID: the dynamic loader ignores LD_LIBRARY_PATH and LD_PRELOAD" "$tmp/suid.err"
	fi
fi

# Options and mistakes.
expect "--help" sh -c "'$run' --help | grep -q '^Usage: uring-alike-run'"
expect "--version" sh -c "'$run' --version | grep -q '^uring-alike-run (uring-alike) '"
"$run" >/dev/null 2>&1
expect "no COMMAND: exit 2" [ $? -eq 2 ]
"$run" --check >/dev/null 2>&1
expect "--check without COMMAND: exit 2" [ $? -eq 2 ]
"$run" --bogus true >/dev/null 2>&1
expect "an unknown option: exit 2" [ $? -eq 2 ]
"$run" "$tmp/does-not-exist" 2>/dev/null
expect "a missing COMMAND: exit 127" [ $? -eq 127 ]
"$run" sh -c 'exit 3'
expect "COMMAND's exit status is the launcher's" [ $? -eq 3 ]

echo "dropin-run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
