/* SPDX-License-Identifier: MIT */
/*
 * liburing 2.15's API, by name: this program does not build when a
 * function, an inline helper, a constant or a structure of liburing 2.15
 * is missing from <liburing.h>, or has another signature where programs
 * depend on it (io_uring_enter2's argument is void *, io_uring_prep_timeout
 * takes a const timespec). It runs too: the version is 2.15 and a few
 * helpers of the newer groups do what liburing's do.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

/* Every function and inline helper: an address each. */
#define NAME(fn)	{ #fn, (void (*)(void)) fn }

static const struct {
	const char	*name;
	void		(*fn)(void);
} names[] = {
	NAME(__io_uring_buf_ring_cq_advance),
	NAME(__io_uring_clone_buffers),
	NAME(__io_uring_clone_buffers_offset),
	NAME(__io_uring_get_cqe),
	NAME(__io_uring_peek_cqe),
	NAME(__io_uring_prep_uring_cmd),
	NAME(__io_uring_sqring_wait),
	NAME(_io_uring_get_sqe),
	NAME(io_uring_buf_ring_add),
	NAME(io_uring_buf_ring_advance),
	NAME(io_uring_buf_ring_available),
	NAME(io_uring_buf_ring_cq_advance),
	NAME(io_uring_buf_ring_head),
	NAME(io_uring_buf_ring_init),
	NAME(io_uring_buf_ring_mask),
	NAME(io_uring_check_version),
	NAME(io_uring_clone_buffers),
	NAME(io_uring_clone_buffers_offset),
	NAME(io_uring_close_ring_fd),
	NAME(io_uring_cq_advance),
	NAME(io_uring_cq_eventfd_enabled),
	NAME(io_uring_cq_eventfd_toggle),
	NAME(io_uring_cq_has_overflow),
	NAME(io_uring_cq_ready),
	NAME(io_uring_cqe_get_data),
	NAME(io_uring_cqe_get_data64),
	NAME(io_uring_cqe_iter_init),
	NAME(io_uring_cqe_iter_next),
	NAME(io_uring_cqe_nr),
	NAME(io_uring_cqe_seen),
	NAME(io_uring_cqe_shift),
	NAME(io_uring_cqe_shift_from_flags),
	NAME(io_uring_enable_rings),
	NAME(io_uring_enter),
	NAME(io_uring_enter2),
	NAME(io_uring_free_buf_ring),
	NAME(io_uring_free_probe),
	NAME(io_uring_get_events),
	NAME(io_uring_get_probe),
	NAME(io_uring_get_probe_ring),
	NAME(io_uring_get_sqe),
	NAME(io_uring_get_sqe128),
	NAME(io_uring_initialize_sqe),
	NAME(io_uring_load_sq_head),
	NAME(io_uring_major_version),
	NAME(io_uring_memory_size),
	NAME(io_uring_memory_size_params),
	NAME(io_uring_minor_version),
	NAME(io_uring_mlock_size),
	NAME(io_uring_mlock_size_params),
	NAME(io_uring_opcode_supported),
	NAME(io_uring_peek_batch_cqe),
	NAME(io_uring_peek_cqe),
	NAME(io_uring_prep_accept),
	NAME(io_uring_prep_accept_direct),
	NAME(io_uring_prep_bind),
	NAME(io_uring_prep_cancel),
	NAME(io_uring_prep_cancel64),
	NAME(io_uring_prep_cancel_fd),
	NAME(io_uring_prep_close),
	NAME(io_uring_prep_close_direct),
	NAME(io_uring_prep_cmd_discard),
	NAME(io_uring_prep_cmd_getsockname),
	NAME(io_uring_prep_cmd_sock),
	NAME(io_uring_prep_connect),
	NAME(io_uring_prep_epoll_ctl),
	NAME(io_uring_prep_epoll_wait),
	NAME(io_uring_prep_fadvise),
	NAME(io_uring_prep_fadvise64),
	NAME(io_uring_prep_fallocate),
	NAME(io_uring_prep_fgetxattr),
	NAME(io_uring_prep_files_update),
	NAME(io_uring_prep_fixed_fd_install),
	NAME(io_uring_prep_fsetxattr),
	NAME(io_uring_prep_fsync),
	NAME(io_uring_prep_ftruncate),
	NAME(io_uring_prep_futex_wait),
	NAME(io_uring_prep_futex_waitv),
	NAME(io_uring_prep_futex_wake),
	NAME(io_uring_prep_getxattr),
	NAME(io_uring_prep_link),
	NAME(io_uring_prep_link_timeout),
	NAME(io_uring_prep_linkat),
	NAME(io_uring_prep_listen),
	NAME(io_uring_prep_madvise),
	NAME(io_uring_prep_madvise64),
	NAME(io_uring_prep_mkdir),
	NAME(io_uring_prep_mkdirat),
	NAME(io_uring_prep_msg_ring),
	NAME(io_uring_prep_msg_ring_cqe_flags),
	NAME(io_uring_prep_msg_ring_fd),
	NAME(io_uring_prep_msg_ring_fd_alloc),
	NAME(io_uring_prep_multishot_accept),
	NAME(io_uring_prep_multishot_accept_direct),
	NAME(io_uring_prep_nop),
	NAME(io_uring_prep_nop128),
	NAME(io_uring_prep_open),
	NAME(io_uring_prep_open_direct),
	NAME(io_uring_prep_openat),
	NAME(io_uring_prep_openat2),
	NAME(io_uring_prep_openat2_direct),
	NAME(io_uring_prep_openat_direct),
	NAME(io_uring_prep_pipe),
	NAME(io_uring_prep_pipe_direct),
	NAME(io_uring_prep_poll_add),
	NAME(io_uring_prep_poll_multishot),
	NAME(io_uring_prep_poll_remove),
	NAME(io_uring_prep_poll_update),
	NAME(io_uring_prep_provide_buffers),
	NAME(io_uring_prep_read),
	NAME(io_uring_prep_read_fixed),
	NAME(io_uring_prep_read_multishot),
	NAME(io_uring_prep_readv),
	NAME(io_uring_prep_readv2),
	NAME(io_uring_prep_readv_fixed),
	NAME(io_uring_prep_recv),
	NAME(io_uring_prep_recv_multishot),
	NAME(io_uring_prep_recvmsg),
	NAME(io_uring_prep_recvmsg_multishot),
	NAME(io_uring_prep_remove_buffers),
	NAME(io_uring_prep_rename),
	NAME(io_uring_prep_renameat),
	NAME(io_uring_prep_rw),
	NAME(io_uring_prep_send),
	NAME(io_uring_prep_send_bundle),
	NAME(io_uring_prep_send_set_addr),
	NAME(io_uring_prep_send_zc),
	NAME(io_uring_prep_send_zc_fixed),
	NAME(io_uring_prep_sendmsg),
	NAME(io_uring_prep_sendmsg_zc),
	NAME(io_uring_prep_sendmsg_zc_fixed),
	NAME(io_uring_prep_sendto),
	NAME(io_uring_prep_setxattr),
	NAME(io_uring_prep_shutdown),
	NAME(io_uring_prep_socket),
	NAME(io_uring_prep_socket_direct),
	NAME(io_uring_prep_socket_direct_alloc),
	NAME(io_uring_prep_splice),
	NAME(io_uring_prep_statx),
	NAME(io_uring_prep_symlink),
	NAME(io_uring_prep_symlinkat),
	NAME(io_uring_prep_sync_file_range),
	NAME(io_uring_prep_tee),
	NAME(io_uring_prep_timeout),
	NAME(io_uring_prep_timeout_remove),
	NAME(io_uring_prep_timeout_update),
	NAME(io_uring_prep_unlink),
	NAME(io_uring_prep_unlinkat),
	NAME(io_uring_prep_uring_cmd),
	NAME(io_uring_prep_uring_cmd128),
	NAME(io_uring_prep_waitid),
	NAME(io_uring_prep_write),
	NAME(io_uring_prep_write_fixed),
	NAME(io_uring_prep_writev),
	NAME(io_uring_prep_writev2),
	NAME(io_uring_prep_writev_fixed),
	NAME(io_uring_queue_exit),
	NAME(io_uring_queue_init),
	NAME(io_uring_queue_init_mem),
	NAME(io_uring_queue_init_params),
	NAME(io_uring_queue_mmap),
	NAME(io_uring_recvmsg_cmsg_firsthdr),
	NAME(io_uring_recvmsg_cmsg_nexthdr),
	NAME(io_uring_recvmsg_name),
	NAME(io_uring_recvmsg_payload),
	NAME(io_uring_recvmsg_payload_length),
	NAME(io_uring_recvmsg_validate),
	NAME(io_uring_register),
	NAME(io_uring_register_bpf_filter),
	NAME(io_uring_register_bpf_filter_task),
	NAME(io_uring_register_buf_ring),
	NAME(io_uring_register_buffers),
	NAME(io_uring_register_buffers_sparse),
	NAME(io_uring_register_buffers_tags),
	NAME(io_uring_register_buffers_update_tag),
	NAME(io_uring_register_clock),
	NAME(io_uring_register_eventfd),
	NAME(io_uring_register_eventfd_async),
	NAME(io_uring_register_file_alloc_range),
	NAME(io_uring_register_files),
	NAME(io_uring_register_files_sparse),
	NAME(io_uring_register_files_tags),
	NAME(io_uring_register_files_update),
	NAME(io_uring_register_files_update_tag),
	NAME(io_uring_register_ifq),
	NAME(io_uring_register_iowq_aff),
	NAME(io_uring_register_iowq_max_workers),
	NAME(io_uring_register_napi),
	NAME(io_uring_register_personality),
	NAME(io_uring_register_probe),
	NAME(io_uring_register_query),
	NAME(io_uring_register_region),
	NAME(io_uring_register_restrictions),
	NAME(io_uring_register_ring_fd),
	NAME(io_uring_register_sync_cancel),
	NAME(io_uring_register_sync_msg),
	NAME(io_uring_register_wait_reg),
	NAME(io_uring_register_zcrx_ctrl),
	NAME(io_uring_resize_rings),
	NAME(io_uring_ring_dontfork),
	NAME(io_uring_set_iowait),
	NAME(io_uring_setup),
	NAME(io_uring_setup_buf_ring),
	NAME(io_uring_sq_ready),
	NAME(io_uring_sq_space_left),
	NAME(io_uring_sqe_set_buf_group),
	NAME(io_uring_sqe_set_data),
	NAME(io_uring_sqe_set_data64),
	NAME(io_uring_sqe_set_flags),
	NAME(io_uring_sqe_shift),
	NAME(io_uring_sqe_shift_from_flags),
	NAME(io_uring_sqring_wait),
	NAME(io_uring_submit),
	NAME(io_uring_submit_and_get_events),
	NAME(io_uring_submit_and_wait),
	NAME(io_uring_submit_and_wait_min_timeout),
	NAME(io_uring_submit_and_wait_reg),
	NAME(io_uring_submit_and_wait_timeout),
	NAME(io_uring_unregister_buf_ring),
	NAME(io_uring_unregister_buffers),
	NAME(io_uring_unregister_eventfd),
	NAME(io_uring_unregister_files),
	NAME(io_uring_unregister_iowq_aff),
	NAME(io_uring_unregister_napi),
	NAME(io_uring_unregister_personality),
	NAME(io_uring_unregister_ring_fd),
	NAME(io_uring_wait_cqe),
	NAME(io_uring_wait_cqe_nr),
	NAME(io_uring_wait_cqe_timeout),
	NAME(io_uring_wait_cqes),
	NAME(io_uring_wait_cqes_min_timeout),
};

/* Constants of each group the 2.15 header added. */
static const unsigned long long constants[] = {
	IORING_SETUP_SQE_MIXED, IORING_SETUP_SQ_REWIND, IORING_SETUP_CQE_MIXED,
	IORING_SETUP_NO_SQARRAY, IORING_SETUP_HYBRID_IOPOLL,
	IORING_SETUP_REGISTERED_FD_ONLY, IORING_SETUP_NO_MMAP,
	IORING_OP_NOP128, IORING_OP_URING_CMD128, IORING_OP_PIPE,
	IORING_OP_EPOLL_WAIT, IORING_OP_READV_FIXED, IORING_OP_RECV_ZC,
	IORING_NOP_CQE32, IORING_NOP_INJECT_RESULT, IORING_CQE_F_32,
	IORING_CQE_F_SKIP, IORING_CQE_F_BUF_MORE, IORING_CQE_F_TSTAMP_HW,
	IORING_TIMEOUT_IMMEDIATE_ARG, IORING_SEND_VECTORIZED,
	IORING_RECVSEND_BUNDLE, IORING_RW_ATTR_FLAG_PI,
	IORING_ENTER_NO_IOWAIT, IORING_ENTER_EXT_ARG_REG,
	IORING_ENTER_ABS_TIMER, IORING_ENTER_REGISTERED_RING,
	IORING_FEAT_NO_IOWAIT, IORING_FEAT_RW_ATTR, IORING_FEAT_MIN_TIMEOUT,
	IORING_FEAT_REG_REG_RING, IORING_REGISTER_QUERY,
	IORING_REGISTER_ZCRX_CTRL, IORING_REGISTER_BPF_FILTER,
	IORING_REGISTER_MEM_REGION, IORING_REGISTER_RESIZE_RINGS,
	IORING_REGISTER_SEND_MSG_RING, IORING_REGISTER_CLONE_BUFFERS,
	IORING_REGISTER_CLOCK, IORING_REGISTER_NAPI,
	IORING_REGISTER_USE_REGISTERED_RING, IORING_REGISTER_SRC_REGISTERED,
	IORING_REGISTER_DST_REPLACE, IORING_MEM_REGION_TYPE_USER,
	IORING_MEM_REGION_REG_WAIT_ARG, IORING_REG_WAIT_TS,
	IORING_MSG_RING_FLAGS_PASS, IORING_FIXED_FD_NO_CLOEXEC,
	IOU_PBUF_RING_INC, IO_URING_QUERY_OPCODES, IO_URING_QUERY_SCQ,
	IO_URING_BPF_FILTER_DENY_REST, IO_URING_BPF_CMD_FILTER,
	SOCKET_URING_OP_GETSOCKNAME, SOCKET_URING_OP_TX_TIMESTAMP,
	ZCRX_REG_IMPORT, ZCRX_CTRL_EXPORT, IORING_ZCRX_AREA_DMABUF,
	IORING_ZCRX_AREA_MASK, BLOCK_URING_CMD_DISCARD, LIBURING_UDATA_TIMEOUT,
};

/* Structures and their kernel sizes. */
#define SIZE(type, size)	{ #type, sizeof(struct type), size }

static const struct {
	const char	*name;
	size_t		size, want;
} sizes[] = {
	SIZE(io_uring_sqe, 64),
	SIZE(io_uring_cqe, 16),
	SIZE(io_uring_params, 120),
	SIZE(io_uring_buf_reg, 40),
	SIZE(io_uring_reg_wait, 64),
	SIZE(io_uring_region_desc, 64),
	SIZE(io_uring_mem_region_reg, 32),
	SIZE(io_uring_clone_buffers, 32),
	SIZE(io_uring_clock_register, 16),
	SIZE(io_uring_napi, 16),
	SIZE(io_uring_attr_pi, 32),
	SIZE(io_uring_query_hdr, 40),
	SIZE(io_uring_query_opcode, 48),
	SIZE(io_uring_zcrx_ifq_reg, 96),
	SIZE(io_uring_bpf, 72),
	SIZE(io_uring_task_restriction, 16),
	SIZE(zcrx_ctrl, 72),
	SIZE(io_timespec, 16),
};

static void test_every_name_is_there(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(names[i].fn);
	unsigned long long any = 0;

	for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
		any |= constants[i];
	assert_true(any != 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i].size != sizes[i].want)
			fail_msg("struct %s: %zu bytes, not %zu", sizes[i].name,
				 sizes[i].size, sizes[i].want);
	}
}

/* The signatures programs are written against. */
static void test_signatures(void **state)
{
	int (*enter2)(unsigned int, unsigned int, unsigned int, unsigned int,
		      void *, size_t) = io_uring_enter2;
	void (*timeout)(struct io_uring_sqe *, const struct __kernel_timespec *,
			unsigned, unsigned) = io_uring_prep_timeout;
	void (*link_timeout)(struct io_uring_sqe *,
			     const struct __kernel_timespec *,
			     unsigned) = io_uring_prep_link_timeout;
	void (*cancel)(struct io_uring_sqe *, const void *, int) =
		io_uring_prep_cancel;
	int (*set_iowait)(struct io_uring *, bool) = io_uring_set_iowait;
	const struct __kernel_timespec ts = { .tv_nsec = 1000 };
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	timeout(sqe, &ts, 0, 0);
	sqe->user_data = 3;
	assert_non_null(link_timeout);
	assert_non_null(cancel);
	assert_non_null(set_iowait);
	assert_int_equal(io_uring_submit(ring), 1);
	/* Through the void * argument: an io_uring_getevents_arg. */
	struct io_uring_getevents_arg arg = {
		.ts = (__u64) (uintptr_t) &ts,
	};
	int ret = enter2((unsigned) ring->ring_fd, 0, 1,
			 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
			 sizeof(arg));
	assert_true(ret == 0 || ret == -ETIME);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, 3);
	assert_int_equal(c.res, -ETIME);
}

static void test_version_is_2_15(void **state)
{
	(void) state;
	assert_int_equal(IO_URING_VERSION_MAJOR, 2);
	assert_int_equal(IO_URING_VERSION_MINOR, 15);
	assert_int_equal(io_uring_major_version(), 2);
	assert_int_equal(io_uring_minor_version(), 15);
	assert_false(io_uring_check_version(2, 15));
	assert_true(io_uring_check_version(2, 16));
#if IO_URING_CHECK_VERSION(2, 15)
	fail_msg("IO_URING_CHECK_VERSION(2, 15) says the library is older");
#endif
}

/* io_uring_get_sqe() clears what the prep helpers leave alone, and the
 * prep helpers no longer do. */
static void test_get_sqe_initializes_and_prep_fills_in(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	assert_int_equal(sqe->flags, 0);
	assert_int_equal(sqe->personality, 0);
	sqe->ioprio = 7;
	io_uring_prep_nop128(sqe);
	assert_int_equal(sqe->opcode, IORING_OP_NOP128);
	assert_int_equal(sqe->fd, -1);
	assert_int_equal(sqe->ioprio, 7);
	io_uring_prep_uring_cmd128(sqe, 5, 4);
	assert_int_equal(sqe->opcode, IORING_OP_URING_CMD128);
	assert_int_equal(sqe->cmd_op, 5);
	io_uring_prep_msg_ring_cqe_flags(sqe, 4, 9, 11, 0, 1U << 16);
	assert_int_equal(sqe->msg_ring_flags, IORING_MSG_RING_FLAGS_PASS);
	assert_int_equal(sqe->file_index, 1U << 16);
	io_uring_prep_pipe_direct(sqe, NULL, 0, IORING_FILE_INDEX_ALLOC);
	assert_int_equal(sqe->file_index, IORING_FILE_INDEX_ALLOC);
	io_uring_prep_nop(sqe);		/* what goes to the engine */
	sqe->ioprio = 0;
	io_uring_sqe_set_data64(sqe, 1);
	assert_int_equal(io_uring_submit(ring), 1);
}

/* The CQE iterator behind io_uring_for_each_cqe(). */
static void test_for_each_cqe_walks_the_ready_cqes(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	for (unsigned i = 0; i < 3; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = 100 + i;
	}
	assert_int_equal(io_uring_submit_and_wait(ring, 3), 3);
	io_uring_for_each_cqe(ring, head, cqe) {
		assert_int_equal(cqe->user_data, 100 + seen);
		assert_int_equal(io_uring_cqe_nr(cqe), 1);
		seen++;
	}
	assert_int_equal(seen, 3);
	io_uring_cq_advance(ring, seen);
	assert_int_equal(io_uring_cq_ready(ring), 0);
}

/* What a NO_MMAP ring of these entries takes, page-rounded parts. */
static void test_memory_size_helpers(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	ssize_t size = io_uring_memory_size(8, 0);

	(void) state;
	assert_true(size >= 2 * page);
	assert_int_equal(size % page, 0);
	assert_int_equal(io_uring_memory_size(0, 0), -EINVAL);
	assert_int_equal(io_uring_memory_size(65536, 0), -EINVAL);
	assert_int_equal(io_uring_memory_size(65536, IORING_SETUP_CLAMP),
			 io_uring_memory_size(32768, 0));
	/* Rings are ordinary memory: nothing is locked. */
	assert_int_equal(io_uring_mlock_size(8, 0), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_name_is_there),
		T(test_signatures),
		T(test_version_is_2_15),
		T(test_get_sqe_initializes_and_prep_fills_in),
		T(test_for_each_cqe_walks_the_ready_cqes),
		T(test_memory_size_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
