#!/bin/sh
# plocate reads its database through liburing when io_uring works. The
# Debian binary is set-group-ID (to read the system's database), which
# makes the loader ignore the drop-in, so the check runs a copy without
# the bit, on a database of its own.
. "$(dirname "$0")/lib.sh"
need plocate updatedb
mkdir -p "$UA_TMP/tree/a/b" "$UA_TMP/tree/c"
for i in $(seq 1 300); do
	: >"$UA_TMP/tree/a/file-$i.txt"
	: >"$UA_TMP/tree/a/b/deep-$i.dat"
	: >"$UA_TMP/tree/c/other-$i.txt"
done
updatedb -l 0 -U "$UA_TMP/tree" -o "$UA_TMP/db" || { bad "updatedb"; exit 1; }
cp "$(command -v plocate)" "$UA_TMP/plocate"

"$UA_RUN" --check /usr/bin/plocate >"$UA_TMP/check.sgid" 2>&1
expect "--check says the set-group-ID plocate cannot be served" \
	grep -q "set-group-ID: the loader ignores" "$UA_TMP/check.sgid"
expect "the copy loads the drop-in" loads_dropin "$UA_TMP/plocate" -d "$UA_TMP/db" file-1

for pattern in file-1 deep-2 .txt other-300 no-such-name; do
	"$UA_TMP/plocate" -d "$UA_TMP/db" "$pattern" >"$UA_TMP/kernel" 2>&1
	k=$?
	$UA_DOCKER "$UA_RUN" "$UA_TMP/plocate" -d "$UA_TMP/db" "$pattern" >"$UA_TMP/ours" 2>&1
	o=$?
	expect "plocate $pattern: same answer ($(wc -l <"$UA_TMP/kernel") lines) and status ($k)" \
		sh -c "[ $k -eq $o ] && cmp -s '$UA_TMP/kernel' '$UA_TMP/ours'"
done
"$UA_TMP/plocate" -d "$UA_TMP/db" -c .txt >"$UA_TMP/kernel"
$UA_DOCKER "$UA_RUN" "$UA_TMP/plocate" -d "$UA_TMP/db" -c .txt >"$UA_TMP/ours"
expect "plocate -c .txt: same count ($(cat "$UA_TMP/kernel"))" cmp -s "$UA_TMP/kernel" "$UA_TMP/ours"
exit "$failed"
