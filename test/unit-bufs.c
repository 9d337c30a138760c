/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the registered-buffer table (src/engine/rsrc.c), driven
 * through the engine's own lookup and put, as READ_FIXED and WRITE_FIXED
 * use them.
 *
 * The stress runs lookups on several threads against a thread that keeps
 * registering and unregistering two sets of buffers: a held node must
 * keep naming the same buffer of one set for as long as it is held, and
 * the nodes must be recycled. As in unit-filetable.c, the group runs once
 * in a child forced into RCU's fence fallback and once in the parent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "rcu-modes.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include "helpers.h"
#include "engine/ctx.h"
#include "engine/rcu.h"

#define NR_SLOTS	4
#define NR_LOOKERS	3
#define NR_CYCLES	3000
#define BUF_LEN		256
#define MIN_LOOKUPS	1000

struct stress {
	struct io_uring		ring;
	struct ua_ctx		*ctx;
	char			mem[2][NR_SLOTS][BUF_LEN];
	struct iovec		sets[2][NR_SLOTS];
	atomic_bool		stop;
	atomic_ulong		errors;
	atomic_ulong		lookups;
};

/* Whether iov is slot's buffer in one of the two sets. */
static bool known_buffer(struct stress *s, unsigned slot,
			 const struct iovec *iov)
{
	for (int set = 0; set < 2; set++)
		if (iov->iov_base == s->sets[set][slot].iov_base &&
		    iov->iov_len == s->sets[set][slot].iov_len)
			return true;
	return false;
}

/* What a fixed request does: take the slot's buffer at issue, check
 * against it on every retry, put it when freed. */
static void *looker(void *arg)
{
	struct stress *s = arg;
	unsigned n = 0;

	while (!atomic_load(&s->stop)) {
		unsigned slot = n++ % NR_SLOTS;
		struct ua_buf_node *node;
		const struct iovec *iov = ua_bufs_get(s->ctx, slot, &node);
		struct iovec first;

		if (!iov)
			continue;	/* between unregister and register */
		first = *iov;
		if (!known_buffer(s, slot, &first))
			atomic_fetch_add(&s->errors, 1);
		/* Hold it across an unregister, now and then across a
		 * grace period (the deferred kill waits about 1 ms). */
		if (n % 64 == 0)
			sleep_ms(2);
		else
			sched_yield();
		iov = ua_buf_node_iov(node);
		if (iov->iov_base != first.iov_base ||
		    iov->iov_len != first.iov_len)
			atomic_fetch_add(&s->errors, 1);
		ua_buf_node_put(node);
		atomic_fetch_add(&s->lookups, 1);
	}
	return NULL;
}

static struct stress *setup_stress(void)
{
	struct stress *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	for (int set = 0; set < 2; set++)
		for (int i = 0; i < NR_SLOTS; i++) {
			s->sets[set][i].iov_base = s->mem[set][i];
			s->sets[set][i].iov_len = BUF_LEN - (size_t) set;
		}
	assert_int_equal(io_uring_queue_init(8, &s->ring, 0), 0);
	s->ctx = ua_ctx_lookup(s->ring.ring_fd);
	assert_non_null(s->ctx);
	atomic_init(&s->stop, false);
	atomic_init(&s->errors, 0);
	atomic_init(&s->lookups, 0);
	return s;
}

static void teardown_stress(struct stress *s)
{
	io_uring_queue_exit(&s->ring);
	free(s);
}

static void test_lookups_against_register_cycles(void **state)
{
	struct stress *s = setup_stress();
	pthread_t threads[NR_LOOKERS];

	(void) state;
	for (int i = 0; i < NR_LOOKERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, looker, s), 0);
	/* Until the lookers, however scheduled, have held enough nodes. */
	for (unsigned c = 0; c < NR_CYCLES ||
			     atomic_load(&s->lookups) < MIN_LOOKUPS; c++) {
		assert_int_equal(io_uring_register_buffers(&s->ring,
							   s->sets[c % 2],
							   NR_SLOTS), 0);
		if (c % 64 == 0)
			sched_yield();
		assert_int_equal(io_uring_unregister_buffers(&s->ring), 0);
	}
	atomic_store(&s->stop, true);
	for (int i = 0; i < NR_LOOKERS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(atomic_load(&s->errors), 0);
	teardown_stress(s);
}

/* Every retired node's grace period has ended (an end may start another). */
static void wait_retired(struct ua_ctx *ctx)
{
	bool pending;

	do {
		ua_rcu_barrier();
		pthread_mutex_lock(&ctx->bufs.lock);
		pending = ctx->bufs.nodes.gp_pending;
		pthread_mutex_unlock(&ctx->bufs.lock);
	} while (pending);
}

/* Once retired nodes are back in the pool, registering allocates none. */
static void test_register_cycles_recycle_nodes(void **state)
{
	struct stress *s = setup_stress();
	unsigned warm = 0;

	(void) state;
	for (int round = 0; round < 4; round++) {
		for (int c = 0; c < 50; c++) {
			assert_int_equal(io_uring_register_buffers(
					&s->ring, s->sets[c % 2], NR_SLOTS), 0);
			assert_int_equal(io_uring_unregister_buffers(&s->ring),
					 0);
		}
		wait_retired(s->ctx);
		if (round == 1)
			warm = s->ctx->bufs.nodes.nr_nodes;
	}
	assert_int_equal(s->ctx->bufs.nodes.nr_nodes, warm);
	assert_true(warm <= 50 * NR_SLOTS);
	teardown_stress(s);
}

/* A held node keeps its buffer's range past unregister and re-register. */
static void test_held_node_survives_unregister(void **state)
{
	struct stress *s = setup_stress();
	struct ua_buf_node *node, *none;
	const struct iovec *iov;

	(void) state;
	assert_int_equal(io_uring_register_buffers(&s->ring, s->sets[0],
						   NR_SLOTS), 0);
	iov = ua_bufs_get(s->ctx, 1, &node);
	assert_non_null(iov);
	assert_int_equal(io_uring_unregister_buffers(&s->ring), 0);
	assert_null(ua_bufs_get(s->ctx, 1, &none));
	assert_int_equal(io_uring_register_buffers(&s->ring, s->sets[1],
						   NR_SLOTS), 0);
	wait_retired(s->ctx);
	assert_ptr_equal(iov->iov_base, s->sets[0][1].iov_base);
	assert_int_equal(iov->iov_len, s->sets[0][1].iov_len);
	ua_buf_node_put(node);
	teardown_stress(s);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_lookups_against_register_cycles),
	cmocka_unit_test(test_register_cycles_recycle_nodes),
	cmocka_unit_test(test_held_node_survives_unregister),
};

int main(void)
{
	return run_in_both_rcu_modes("bufs, fence fallback", "bufs, default mode",
				     tests, sizeof(tests) / sizeof(tests[0]));
}
