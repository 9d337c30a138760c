# uring-alike. `./configure` writes config.mk; plain `make` works without it.
-include config.mk

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
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

.PHONY: all lib examples test test-kernel bench demo install uninstall clean deps \
	run-tests run-kernel-tests run-bench test-seccomp run-seccomp-tests fuzz fuzz-kernel
all: lib examples

# The test suite needs cmocka, the kernel comparison the system liburing.
TEST_DEPS := libcmocka-dev liburing-dev
deps:
	@sh test/deps.sh $(TEST_DEPS)

lib: $(SHLIB) $(O)/liburing-alike.so $(STLIB)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(SHLIB): $(LIB_OBJS) src/liburing-alike.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/liburing-alike.map \
		-Wl,-z,defs -o $@ $(LIB_OBJS) -pthread $(SANFLAGS)

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

# API tests use only <liburing.h>: built against us, and against the system
# liburing to check every expectation on the kernel's own io_uring.
$(O)/test/api-%: test/api-%.c test/helpers.h test/seccomp-filter.h $(SHLIB) $(O)/liburing-alike.so include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude $< -o $@ $(LINK_OURS) -lcmocka
$(O)/test-kernel/api-%: test/api-%.c test/helpers.h test/seccomp-filter.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -DTEST_KERNEL $< -o $@ -luring -lcmocka -pthread $(SANFLAGS)
# Unit tests reach into the engine: they link the static library.
$(O)/test/unit-%: test/unit-%.c test/helpers.h test/rcu-modes.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude -Isrc $< -o $@ $(STLIB) -lcmocka -pthread $(SANFLAGS) \
		$(UNIT_LDFLAGS)
# The engine's allocations fail on demand there.
$(O)/test/unit-overflow: UNIT_LDFLAGS := -Wl,--wrap=malloc
# And its system calls fail on demand there.
$(O)/test/unit-aio: UNIT_LDFLAGS := -Wl,--wrap=syscall
# The CQ fills up there while a receive selects a buffer.
$(O)/test/unit-recv-held: UNIT_LDFLAGS := -Wl,--wrap=ua_kbuf_get

# The fuzzer: random SQEs, built like the API tests (only <liburing.h>), so
# its invariants are also checked on the kernel's io_uring (make fuzz-kernel).
FUZZ_ARGS ?= --time 60
$(O)/test/fuzz: test/fuzz.c $(SHLIB) $(O)/liburing-alike.so include/liburing.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iinclude $< -o $@ $(LINK_OURS)
$(O)/test-kernel/fuzz: test/fuzz.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -DTEST_KERNEL $< -o $@ -luring -pthread $(SANFLAGS)

fuzz: $(O)/test/fuzz
	$(O)/test/fuzz $(FUZZ_ARGS)
fuzz-kernel: deps
	@$(MAKE) --no-print-directory $(O)/test-kernel/fuzz
	$(O)/test-kernel/fuzz $(FUZZ_ARGS)

# `make test` installs what it needs first (root), so it works on a fresh
# machine; the binaries are built in a sub-make, after the check.
test: deps
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

test-kernel: deps
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
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/uring-alike/liburing
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liburing-alike.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/liburing-alike.a
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/uring-alike.pc
	install -m 644 include/liburing.h $(DESTDIR)$(INCLUDEDIR)/uring-alike/
	install -m 644 include/liburing/*.h $(DESTDIR)$(INCLUDEDIR)/uring-alike/liburing/
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

clean:
	rm -rf build build-*

-include $(LIB_OBJS:.o=.d)
