#!/bin/sh
# run.sh PRELOAD SECCOMP_RUN RAW_URING: every case of raw-uring on the
# kernel's io_uring, then through the preload inside Docker's profile,
# which denies io_uring (EPERM). Where the kernel has no io_uring for us,
# only the preload's half runs.
preload=$1 seccomp_run=$2 raw=$3
cases="basic close errno fork exec vfork exec-clean sigsys blocked"
# x86_64: a trapped `mov $nr,%eax; syscall` is rewritten into a jump.
[ "$(uname -m)" = x86_64 ] && cases="$cases site"
failed=""
kernel=yes
"$raw" basic 2>/dev/null || { kernel=; echo "preload tests: no kernel io_uring here, comparing with the expectations only"; }
for c in $cases tsync; do
	arg=; [ "$c" = tsync ] && arg=-
	if [ -n "$kernel" ]; then
		"$raw" $c $arg || failed="$failed kernel:$c"
	fi
	if [ "$c" = site ]; then
		LD_PRELOAD=$preload "$seccomp_run" --profile docker -- "$raw" site rewritten ||
			failed="$failed preload:$c"
	elif [ "$c" = tsync ]; then
		# Loaded by dlopen() after a thread started.
		"$seccomp_run" --profile docker -- "$raw" tsync "$preload" ||
			failed="$failed preload:$c"
	else
		LD_PRELOAD=$preload "$seccomp_run" --profile docker -- "$raw" $c ||
			failed="$failed preload:$c"
	fi
done
if [ -n "$failed" ]; then
	echo "preload tests failed:$failed"
	exit 1
fi
echo "preload tests: all passed ($cases tsync)"
