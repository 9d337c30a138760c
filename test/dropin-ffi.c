/* SPDX-License-Identifier: MIT */
/*
 * The drop-in libraries as a program that cannot use C inline functions
 * sees them: liburing-ffi.so.2 loaded with dlopen(), every call made
 * through a symbol looked up at liburing's version, as a Python or Rust
 * binding does. liburing.so.2 keeps them inline, except
 * io_uring_get_sqe, which programs built against liburing 2.0 to 2.2 call.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <liburing.h>

#ifndef DROPIN_FFI
#error "DROPIN_FFI: the path of liburing-ffi.so.2"
#endif
#ifndef LIBURING_ALIKE
#error "LIBURING_ALIKE: the path of liburing-alike.so.1"
#endif

/* The function NAME at VERSION of LIB, typed as the header declares it. */
#define LOOKUP(lib, name, version) \
	((__typeof__(&name))must_find(lib, #name, version))

static void *must_find(void *lib, const char *name, const char *version)
{
	void *sym = dlvsym(lib, name, version);

	if (!sym)
		fail_msg("%s@%s: %s", name, version, dlerror());
	return sym;
}

static void *must_open(const char *path)
{
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		fail_msg("%s", dlerror());
	return lib;
}

static void test_ffi_functions_read_a_file(void **state)
{
	static const char text[] = "read through liburing-ffi's functions";
	char path[] = "/tmp/ua-dropin-ffi.XXXXXX";
	char buf[sizeof(text)] = "";
	void *lib = must_open(DROPIN_FFI);
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, sizeof(text)), sizeof(text));
	assert_int_equal(LOOKUP(lib, io_uring_queue_init, "LIBURING_2.4")(4, &ring, 0), 0);

	struct io_uring_sqe *sqe = LOOKUP(lib, io_uring_get_sqe, "LIBURING_2.4")(&ring);

	assert_non_null(sqe);
	LOOKUP(lib, io_uring_prep_read, "LIBURING_2.4")(sqe, fd, buf, sizeof(buf), 0);
	LOOKUP(lib, io_uring_sqe_set_data64, "LIBURING_2.4")(sqe, 0x5eed);
	assert_int_equal(LOOKUP(lib, io_uring_sq_ready, "LIBURING_2.4")(&ring), 1);
	assert_int_equal(LOOKUP(lib, io_uring_submit, "LIBURING_2.4")(&ring), 1);
	assert_int_equal(LOOKUP(lib, io_uring_wait_cqe, "LIBURING_2.4")(&ring, &cqe), 0);
	assert_int_equal(cqe->res, sizeof(text));
	assert_true(LOOKUP(lib, io_uring_cqe_get_data64, "LIBURING_2.4")(cqe) == 0x5eed);
	assert_int_equal(LOOKUP(lib, io_uring_cq_ready, "LIBURING_2.4")(&ring), 1);
	LOOKUP(lib, io_uring_cqe_seen, "LIBURING_2.4")(&ring, cqe);
	assert_int_equal(LOOKUP(lib, io_uring_cq_ready, "LIBURING_2.4")(&ring), 0);
	assert_string_equal(buf, text);
	LOOKUP(lib, io_uring_queue_exit, "LIBURING_2.4")(&ring);
	close(fd);
	dlclose(lib);
}

/* Inline functions liburing added after 2.4 are at the version that added
 * them. */
static void test_ffi_functions_are_at_liburing_versions(void **state)
{
	void *lib = must_open(DROPIN_FFI);
	struct io_uring_sqe sqe;

	(void)state;
	LOOKUP(lib, io_uring_prep_bind, "LIBURING_2.7")(&sqe, 3, NULL, 0);
	assert_int_equal(sqe.opcode, IORING_OP_BIND);
	LOOKUP(lib, io_uring_prep_fixed_fd_install, "LIBURING_2.6")(&sqe, 1, 0);
	assert_int_equal(sqe.opcode, IORING_OP_FIXED_FD_INSTALL);
	assert_null(dlvsym(lib, "io_uring_prep_bind", "LIBURING_2.4"));
	dlclose(lib);
}

static void test_dropin_exports_get_sqe_but_no_other_inline(void **state)
{
	char path[sizeof(DROPIN_FFI)];
	struct io_uring ring;
	void *lib;

	(void)state;
	snprintf(path, sizeof(path), "%s", DROPIN_FFI);
	strcpy(strrchr(path, '/'), "/liburing.so.2");
	lib = must_open(path);
	assert_int_equal(LOOKUP(lib, io_uring_queue_init, "LIBURING_2.0")(2, &ring, 0), 0);
	assert_non_null(LOOKUP(lib, io_uring_get_sqe, "LIBURING_2.0")(&ring));
	assert_null(dlsym(lib, "io_uring_prep_nop"));
	LOOKUP(lib, io_uring_queue_exit, "LIBURING_2.0")(&ring);
	dlclose(lib);
}

/* The engine's threads outlive a ring, so the code they run must stay
 * mapped when a binding closes the library. */
static void test_ffi_stays_loaded_after_dlclose(void **state)
{
	void *lib = must_open(DROPIN_FFI);
	struct io_uring ring;

	(void)state;
	assert_int_equal(LOOKUP(lib, io_uring_queue_init, "LIBURING_2.4")(2, &ring, 0), 0);
	LOOKUP(lib, io_uring_queue_exit, "LIBURING_2.4")(&ring);
	assert_int_equal(dlclose(lib), 0);
	lib = dlopen(DROPIN_FFI, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(lib);
	dlclose(lib);
}

/* The same for a program that loads liburing-alike.so itself. */
static void test_library_stays_loaded_after_dlclose(void **state)
{
	void *lib = must_open(LIBURING_ALIKE);
	int (*init)(unsigned, struct io_uring *, unsigned);
	void (*exit_ring)(struct io_uring *);
	struct io_uring ring;

	(void)state;
	*(void **) &init = dlsym(lib, "io_uring_queue_init");
	*(void **) &exit_ring = dlsym(lib, "io_uring_queue_exit");
	assert_non_null(init);
	assert_non_null(exit_ring);
	assert_int_equal(init(2, &ring, 0), 0);
	exit_ring(&ring);
	assert_int_equal(dlclose(lib), 0);
	lib = dlopen(LIBURING_ALIKE, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(lib);
	dlclose(lib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ffi_functions_read_a_file),
		cmocka_unit_test(test_ffi_functions_are_at_liburing_versions),
		cmocka_unit_test(test_dropin_exports_get_sqe_but_no_other_inline),
		cmocka_unit_test(test_ffi_stays_loaded_after_dlclose),
		cmocka_unit_test(test_library_stays_loaded_after_dlclose),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
