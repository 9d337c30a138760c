# Sourced by test/clients/*.sh: reporting, and whether a program really
# loaded the drop-in.
failed=0
ok() { echo "ok: $1"; }
bad() { failed=1; echo "FAILED: $1"; }
expect() { what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# need PROGRAM...: skip the script unless each is installed.
need() { for p in "$@"; do command -v "$p" >/dev/null || exit 77; done; }
# loads_dropin COMMAND...: runs COMMAND through the launcher in the profile
# with the loader's trace on, and says whether the drop-in was loaded.
loads_dropin() {
	LD_DEBUG=libs $UA_DOCKER "$UA_RUN" "$@" 2>&1 >/dev/null |
		grep -q "calling init: $UA_DROPIN/liburing.so.2"
}
