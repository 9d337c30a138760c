# uring-alike. `./configure` writes config.mk; plain `make` works without it.
-include config.mk

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
SANITIZE   ?=
DESTDIR    ?=

VERSION    := 0.1.0
SOVERSION  := 1

comma := ,
# Each sanitizer build gets its own object tree, so builds never mix.
O ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra $(if $(WERROR),-Werror)
SANFLAGS   := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
# TSan does not model standalone fences and gcc says so (-Wtsan). The fences
# only order the sleep/wake handshake, which TSan does not check anyway.
ifneq ($(findstring thread,$(SANITIZE)),)
SANFLAGS   += $(shell $(CC) -Werror -Wno-tsan -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-tsan)
endif
BASEFLAGS  := -std=gnu11 -D_GNU_SOURCE -pthread $(WARN) $(SANFLAGS)
# Sanitizer builds also check that functions run with the locks they need.
DEBUGFLAGS := $(if $(SANITIZE),-DUA_DEBUG_LOCKS)
# Function alignment: the NOP round trip is ~60 ns, and unrelated code
# moving a hot function across a fetch boundary cost it 17% (measured).
LIB_CFLAGS := $(BASEFLAGS) $(DEBUGFLAGS) -fPIC -fvisibility=hidden -falign-functions=64 \
	      -Iinclude -Isrc $(CFLAGS)
APP_CFLAGS := $(BASEFLAGS) $(CFLAGS)

LIB_SRCS := $(wildcard src/*.c src/engine/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
SONAME   := liburing-alike.so.$(SOVERSION)
SHLIB    := $(O)/$(SONAME)
STLIB    := $(O)/liburing-alike.a

# Programs link the shared library from the build tree.
LINK_OURS := -L$(O) -Wl,-rpath,$(abspath $(O)) -luring-alike -pthread $(SANFLAGS)

API_TESTS   := $(patsubst test/%.c,%,$(wildcard test/api-*.c))
UNIT_TESTS  := $(patsubst test/%.c,%,$(wildcard test/unit-*.c))
TEST_BINS   := $(API_TESTS:%=$(O)/test/%) $(UNIT_TESTS:%=$(O)/test/%)
KTEST_BINS  := $(API_TESTS:%=$(O)/test-kernel/%)
EXAMPLES    := $(patsubst examples/%.c,%,$(wildcard examples/*.c))
EXAMPLE_BINS:= $(EXAMPLES:%=$(O)/examples/%)

.PHONY: all lib examples test test-kernel liburing-ref bench demo install uninstall clean deps \
	run-tests run-kernel-tests run-bench test-seccomp run-seccomp-tests fuzz fuzz-kernel \
	check-layers
all: lib examples

# The test suite needs cmocka, the kernel comparison the system liburing.
TEST_DEPS := libcmocka-dev liburing-dev python3-minimal
deps:
	@sh test/deps.sh $(TEST_DEPS)

lib: $(SHLIB) $(O)/liburing-alike.so $(STLIB)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

# A program may dlclose() the library, but the engine's threads (RCU
# callbacks, the timer) outlive a ring: the code must stay mapped.
$(SHLIB): $(LIB_OBJS) src/liburing-alike.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/liburing-alike.map \
		-Wl,-z,defs -Wl,-z,nodelete -o $@ $(LIB_OBJS) -pthread $(SANFLAGS)

$(O)/liburing-alike.so: $(SHLIB)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

examples: $(EXAMPLE_BINS)
$(O)/examples/%: examples/%.c $(SHLIB) $(O)/liburing-alike.so include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude $< -o $@ $(LINK_OURS)

# The same benchmark sources, built against the system liburing (kernel io_uring).
$(O)/examples/uring-bench.kernel $(O)/examples/echo-server.kernel: $(O)/examples/%.kernel: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $< -o $@ -luring -pthread $(SANFLAGS)

# The kernel comparison builds against liburing 2.15, made from Debian's
# source package by test/liburing-ref.sh (test-kernel runs it; cached), so
# no test loses a check for a name the system's liburing 2.3 lacks; against
# the system liburing when that could not be built.
LIBURING_REF := build/liburing-ref
KERNEL_URING  = $(if $(wildcard $(LIBURING_REF)/lib/liburing.a),\
		  -I$(LIBURING_REF)/include $(LIBURING_REF)/lib/liburing.a,-luring)

# API tests use only <liburing.h>: built against us, and against liburing
# to check every expectation on the kernel's own io_uring.
$(O)/test/api-%: test/api-%.c test/helpers.h test/seccomp-filter.h $(SHLIB) $(O)/liburing-alike.so include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude $< -o $@ $(LINK_OURS) -lcmocka
$(O)/test-kernel/api-%: test/api-%.c test/helpers.h test/seccomp-filter.h $(wildcard $(LIBURING_REF)/lib/liburing.a)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -DTEST_KERNEL $< -o $@ $(KERNEL_URING) -lcmocka -pthread $(SANFLAGS)
# Unit tests reach into the engine: they link the static library.
$(O)/test/unit-%: test/unit-%.c test/helpers.h test/rcu-modes.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude -Isrc $< -o $@ $(STLIB) -lcmocka -pthread $(SANFLAGS) \
		$(UNIT_LDFLAGS)
# The engine's allocations fail on demand there.
$(O)/test/unit-overflow: UNIT_LDFLAGS := -Wl,--wrap=malloc
# And its system calls fail on demand there.
$(O)/test/unit-aio: UNIT_LDFLAGS := -Wl,--wrap=syscall
# Its files shrink and its copies wait for the device on demand there.
$(O)/test/unit-filemap: UNIT_LDFLAGS := -Wl,--wrap=fstat -Wl,--wrap=getrusage
# The CQ fills up there while a receive selects a buffer.
$(O)/test/unit-recv-held: UNIT_LDFLAGS := -Wl,--wrap=ua_kbuf_get
# The engine's allocations are counted there.
$(O)/test/unit-sendvec: UNIT_LDFLAGS := -Wl,--wrap=malloc

# The fuzzer: random SQEs, built like the API tests (only <liburing.h>), so
# its invariants are also checked on the kernel's io_uring (make fuzz-kernel).
FUZZ_ARGS ?= --time 60
$(O)/test/fuzz: test/fuzz.c $(SHLIB) $(O)/liburing-alike.so include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude $< -o $@ $(LINK_OURS)
$(O)/test-kernel/fuzz: test/fuzz.c $(wildcard $(LIBURING_REF)/lib/liburing.a)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -DTEST_KERNEL $< -o $@ $(KERNEL_URING) -pthread $(SANFLAGS)

fuzz: $(O)/test/fuzz
	$(O)/test/fuzz $(FUZZ_ARGS)
fuzz-kernel: deps liburing-ref
	@$(MAKE) --no-print-directory $(O)/test-kernel/fuzz
	$(O)/test-kernel/fuzz $(FUZZ_ARGS)

# The engine's files call only their own layer and the layers below it,
# never in a loop (the layers are declared in test/layers.py).
check-layers: deps
	python3 test/layers.py src/engine

# `make test` installs what it needs first (root), so it works on a fresh
# machine; the binaries are built in a sub-make, after the check.
test: deps check-layers
	@$(MAKE) --no-print-directory run-tests
run-tests: $(TEST_BINS)
	@sh test/run.sh $(TEST_BINS)

# The suite again under seccomp profiles of test/seccomp-run.c: the system
# calls a container or a sandbox refuses, or an older kernel lacks. Not
# "old-kernel" by default: without openat2, OPENAT2 with resolve flags
# fails with -ENOSYS, as expected, and api-direct tests those flags.
SECCOMP_PROFILES ?= docker no-epoll-pwait2 strict
SECCOMP_RUN := $(O)/test/seccomp-run
$(SECCOMP_RUN): test/seccomp-run.c test/seccomp-filter.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $< -o $@

$(O)/test/unit-sys: test/seccomp-filter.h

test-seccomp: deps
	@$(MAKE) --no-print-directory run-seccomp-tests
run-seccomp-tests: $(TEST_BINS) $(SECCOMP_RUN)
	@failed=; for p in $(SECCOMP_PROFILES); do \
		echo "##### seccomp profile $$p"; \
		TEST_LAUNCHER="$(SECCOMP_RUN) --profile $$p --" \
			sh test/run.sh $(TEST_BINS) || failed="$$failed $$p"; \
	done; \
	[ -z "$$failed" ] || { echo "seccomp profiles failed:$$failed"; exit 1; }

# The raw-syscall preload (src/preload/): the engine, private to it, behind
# a seccomp trap for the io_uring system calls. Not a sanitizer build's:
# a sanitizer runtime must be the first library a process loads.
PRELOAD      := $(O)/uring-alike-preload.so
PRELOAD_OBJS := $(addprefix $(O)/src/preload/,preload.o rewrite.o exec.o) \
		$(filter $(O)/src/engine/%,$(LIB_OBJS))
ifeq ($(SANITIZE),)
all: $(PRELOAD)
install: install-preload
uninstall: uninstall-preload
run-seccomp-tests: run-preload-tests
endif
-include $(PRELOAD_OBJS:.o=.d)
$(PRELOAD): $(PRELOAD_OBJS) src/preload/preload.map
	$(CC) -shared -Wl,--version-script=src/preload/preload.map -Wl,-z,defs \
		-o $@ $(PRELOAD_OBJS) -pthread -ldl
.PHONY: install-preload uninstall-preload
install-preload: $(PRELOAD)
	install -d $(DESTDIR)$(LIBDIR)/uring-alike
	install -m 755 $(PRELOAD) $(DESTDIR)$(LIBDIR)/uring-alike/
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 644 man/uring-alike-preload.8 $(DESTDIR)$(MANDIR)/man8/
uninstall-preload:
	rm -f $(DESTDIR)$(LIBDIR)/uring-alike/uring-alike-preload.so \
		$(DESTDIR)$(MANDIR)/man8/uring-alike-preload.8
	-rmdir $(DESTDIR)$(LIBDIR)/uring-alike 2>/dev/null
# A program with no liburing, on the kernel and through the preload inside
# Docker's profile; part of make test-seccomp (above).
RAW_URING := $(O)/test/preload/raw-uring
$(RAW_URING): test/preload/raw-uring.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $< -o $@ -ldl
.PHONY: run-preload-tests
run-preload-tests: $(PRELOAD) $(SECCOMP_RUN) $(RAW_URING)
	@echo "##### raw io_uring system calls through $(PRELOAD)"
	@sh test/preload/run.sh $(abspath $(PRELOAD)) $(SECCOMP_RUN) $(RAW_URING)


# A failure only costs the names liburing 2.3 lacks: the script says so.
liburing-ref:
	@sh test/liburing-ref.sh $(LIBURING_REF) || true

test-kernel: deps liburing-ref
	@$(MAKE) --no-print-directory run-kernel-tests
run-kernel-tests: $(KTEST_BINS)
	@sh test/run.sh $(KTEST_BINS)

# The benchmark also compares with libuv's thread pool (libuv1-dev).
bench:
	@sh test/deps.sh $(TEST_DEPS) libuv1-dev
	@$(MAKE) --no-print-directory run-bench
ECHO_BINS := $(addprefix $(O)/examples/,echo-server echo-server.kernel echo-epoll echo-client)
UV_BENCH  := $(if $(wildcard /usr/include/uv.h),$(O)/bench/uv-bench)
$(O)/bench/uv-bench: bench/uv-bench.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $< -o $@ -luv
run-bench: $(O)/examples/uring-bench $(O)/examples/uring-bench.kernel $(ECHO_BINS) $(UV_BENCH)
	@sh bench/run.sh $(O)/examples/uring-bench $(O)/examples/uring-bench.kernel $(UV_BENCH)
	@sh bench/echo.sh $(O)/examples

demo: $(O)/examples/io_uring-cp $(O)/examples/io_uring-test $(O)/examples/link-cp
	@sh examples/demo.sh $(O)/examples

PC_FILE := $(O)/uring-alike.pc
$(PC_FILE): Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)/uring-alike' '' \
		'Name: uring-alike' \
		'Description: io_uring programming model in userspace, liburing API' \
		'Version: $(VERSION)' \
		'Cflags: -I$${includedir}' \
		'Libs: -L$${libdir} -luring-alike -pthread' > $@

install: lib $(PC_FILE)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/uring-alike/liburing/io_uring
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liburing-alike.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/liburing-alike.a
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/uring-alike.pc
	install -m 644 include/liburing.h $(DESTDIR)$(INCLUDEDIR)/uring-alike/
	install -m 644 include/liburing/*.h $(DESTDIR)$(INCLUDEDIR)/uring-alike/liburing/
	install -m 644 include/liburing/io_uring/*.h \
		$(DESTDIR)$(INCLUDEDIR)/uring-alike/liburing/io_uring/
	for s in 2 3 7; do \
		ls man/*.$$s >/dev/null 2>&1 || continue; \
		install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/liburing-alike.so \
		$(DESTDIR)$(LIBDIR)/liburing-alike.a $(DESTDIR)$(LIBDIR)/pkgconfig/uring-alike.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/uring-alike
	for f in man/*.[237]; do \
		[ -e "$$f" ] || continue; \
		s=$${f##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}; \
	done

# ---- Programs nobody rebuilt: the liburing.so.2 drop-in, liburing-ffi.so.2
# and the uring-alike-run launcher. They live in a directory of their own,
# installed under $(LIBDIR)/uring-alike/, so they never shadow the system's
# liburing: only programs started by uring-alike-run (or given that
# directory in LD_LIBRARY_PATH) get them.
DROPIN_DIR  := $(O)/uring-alike
DROPIN      := $(DROPIN_DIR)/liburing.so.2
DROPIN_FFI  := $(DROPIN_DIR)/liburing-ffi.so.2
FFI_OBJ     := $(O)/src/dropin/ffi.o
PKGLIBDIR   := $(LIBDIR)/uring-alike
UA_RUN      := $(O)/uring-alike-run
# The version scripts name every function of liburing 2.15; the linker must
# skip those not defined yet (lld refuses them unless told).
UNDEF_VERSION := $(shell $(CC) -shared -Wl,--undefined-version -o /dev/null \
	-x c /dev/null >/dev/null 2>&1 && echo -Wl,--undefined-version)

.PHONY: dropin install-dropin uninstall-dropin test-clients run-dropin-tests
all: dropin
dropin: $(DROPIN) $(DROPIN_FFI) $(UA_RUN)
-include $(FFI_OBJ:.o=.d)

# Bindings load them with dlopen() and may dlclose() them, but the engine's
# threads (RCU callbacks) outlive a ring: the code must stay mapped.
$(DROPIN) $(DROPIN_FFI): $(DROPIN_DIR)/%.so.2: src/dropin/%.map $(LIB_OBJS) $(FFI_OBJ) Makefile
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(notdir $@) -Wl,--version-script=$< $(UNDEF_VERSION) \
		-Wl,-z,defs -Wl,-z,nodelete -o $@ $(LIB_OBJS) $(FFI_OBJ) -pthread $(SANFLAGS)

$(UA_RUN): tools/uring-alike-run.c include/liburing.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude -DUA_VERSION='"$(VERSION)"' \
		-DUA_PKGLIBDIR='"$(PKGLIBDIR)"' \
		-DUA_BIN_TO_PKGLIB='"$(shell realpath -m --relative-to=$(BINDIR) $(PKGLIBDIR))"' \
		$< -o $@

install: install-dropin
install-dropin: dropin
	install -d $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(DROPIN) $(DROPIN_FFI) $(DESTDIR)$(PKGLIBDIR)/
	install -m 755 $(UA_RUN) $(DESTDIR)$(BINDIR)/
	install -m 644 man/uring-alike-run.1 $(DESTDIR)$(MANDIR)/man1/
uninstall: uninstall-dropin
uninstall-dropin:
	rm -rf $(DESTDIR)$(PKGLIBDIR)
	rm -f $(DESTDIR)$(BINDIR)/uring-alike-run $(DESTDIR)$(MANDIR)/man1/uring-alike-run.1

# Its tests: the symbol versions, the ffi library's inline functions, and
# a program built against the system liburing run through the launcher
# where a Docker-like profile denies the kernel's io_uring.
DROPIN_SYSPROGS := $(O)/test/system/io_uring-test $(O)/test/system/io_uring-cp
$(DROPIN_SYSPROGS): $(O)/test/system/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $< -o $@ -luring -pthread $(SANFLAGS)
$(O)/test/dropin-ffi: test/dropin-ffi.c $(DROPIN_FFI) $(SHLIB) include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude -DDROPIN_FFI='"$(abspath $(DROPIN_FFI))"' \
		-DLIBURING_ALIKE='"$(abspath $(SHLIB))"' $< -o $@ \
		-ldl -lcmocka -pthread $(SANFLAGS)
TEST_BINS += $(O)/test/dropin-ffi
run-tests run-seccomp-tests: $(O)/test/dropin-ffi
run-tests: run-dropin-tests
# Where the preload is built (not in sanitizer builds), a program that
# makes the io_uring system calls itself goes through the launcher too.
ifeq ($(SANITIZE),)
run-dropin-tests: $(PRELOAD) $(RAW_URING)
DROPIN_RAW := $(RAW_URING)
endif
run-dropin-tests: dropin $(DROPIN_SYSPROGS) $(SECCOMP_RUN)
	@sh test/dropin-symbols.sh $(O)
	@sh test/dropin-run.sh $(O) $(DROPIN_RAW)

# Real programs from Debian through the launcher, against the kernel: opt-in
# (it installs packages). Each test/clients/*.sh checks one program;
# CLIENT_PACKAGES lists what they need.
CLIENT_PACKAGES := plocate qemu-utils fio
test-clients: deps
	@sh test/deps.sh $(CLIENT_PACKAGES)
	@$(MAKE) --no-print-directory all $(SECCOMP_RUN)
	@sh test/clients.sh $(O)

clean:
	rm -rf build build-*

-include $(LIB_OBJS:.o=.d)
