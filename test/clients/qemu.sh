#!/bin/sh
# qemu-io and qemu-img with aio=io_uring on a raw image: writes of
# patterns, reads that verify them, and the resulting image compared byte
# for byte with the one the kernel's io_uring wrote. Without the launcher
# the profile makes qemu refuse io_uring.
. "$(dirname "$0")/lib.sh"
need qemu-io qemu-img

# qemu-io IMAGE: the same commands each time; timings filtered out.
io() {
	img=$1
	shift
	"$@" qemu-io -f raw -i io_uring \
		-c 'write -P 0xab 0 1M' -c 'write -P 0x5c 1M 64k' \
		-c 'writev -P 0x11 2M 4k 8k 16k' -c 'write -z 3M 64k' \
		-c 'read -P 0xab 0 1M' -c 'read -P 0x5c 1M 64k' \
		-c 'readv -P 0x11 2M 4k 8k 16k' -c 'read -P 0 3M 64k' \
		-c 'aio_write -P 0x77 4M 256k' -c 'aio_flush' -c 'read -P 0x77 4M 256k' \
		-c flush "$img" 2>&1 | grep -v ' sec ('
}

for who in kernel ours; do
	qemu-img create -q -f raw "$UA_TMP/$who.img" 8M
done
io "$UA_TMP/kernel.img" >"$UA_TMP/kernel.out"
io "$UA_TMP/ours.img" $UA_DOCKER "$UA_RUN" >"$UA_TMP/ours.out"
expect "qemu-io -i io_uring: the patterns read back (no verification failure)" \
	sh -c "! grep -qi 'fail' '$UA_TMP/ours.out' && grep -q 'read 262144/262144' '$UA_TMP/ours.out'"
expect "qemu-io -i io_uring: same output as on the kernel" cmp "$UA_TMP/kernel.out" "$UA_TMP/ours.out"
expect "qemu-io -i io_uring: the same image as on the kernel" cmp "$UA_TMP/kernel.img" "$UA_TMP/ours.img"
expect "qemu-io loads the drop-in" \
	loads_dropin qemu-io -f raw -i io_uring -c 'read 0 4k' "$UA_TMP/ours.img"

io "$UA_TMP/ours.img" $UA_DOCKER >"$UA_TMP/denied.out"
echo "    without uring-alike-run, inside the profile: $(head -1 "$UA_TMP/denied.out")"
expect "the profile makes qemu-io refuse io_uring" grep -qi 'io_uring' "$UA_TMP/denied.out"

for mode in "" "-w"; do
	qemu-img bench -q -f raw -i io_uring -c 20000 -d 32 -s 4k $mode "$UA_TMP/kernel.img" >/dev/null 2>&1
	k=$?
	$UA_DOCKER "$UA_RUN" qemu-img bench -q -f raw -i io_uring -c 20000 -d 32 -s 4k $mode \
		"$UA_TMP/ours.img" >"$UA_TMP/bench.out" 2>&1
	o=$?
	expect "qemu-img bench -i io_uring ${mode:-(read)}: exit $o, as on the kernel ($k)" [ "$o" -eq "$k" ]
	[ "$o" -eq 0 ] || cat "$UA_TMP/bench.out"
done
expect "qemu-img bench -w wrote the same image as on the kernel" cmp "$UA_TMP/kernel.img" "$UA_TMP/ours.img"
exit "$failed"
