/* SPDX-License-Identifier: MIT */
/*
 * The SQPOLL thread's side of sharing a CPU: it publishes where it runs
 * (sq_cpu, -1 once asleep) for waiters on that CPU, which yield to it
 * rather than spin; and it spins between turns holding its group's lock,
 * which it hands over to a ring that joins or leaves. The process is
 * pinned to one CPU, as a loaded machine often leaves it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include "helpers.h"
#include "engine/ctx.h"

static cpu_set_t saved_cpus;

static int pin_to_current_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	assert_true(cpu >= 0);
	assert_int_equal(sched_getaffinity(0, sizeof(saved_cpus), &saved_cpus),
			 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
	return cpu;
}

static void unpin(void)
{
	assert_int_equal(sched_setaffinity(0, sizeof(saved_cpus), &saved_cpus),
			 0);
}

static void init_sqpoll(struct io_uring *ring, unsigned idle_ms, int wq_fd)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = idle_ms;
	if (wq_fd >= 0) {
		p.flags |= IORING_SETUP_ATTACH_WQ;
		p.wq_fd = (unsigned) wq_fd;
	}
	assert_int_equal(io_uring_queue_init_params(8, ring, &p), 0);
}

/* One NOP, waited for: the thread has run a turn by then. */
static void nop_round_trip(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	io_uring_prep_nop(io_uring_get_sqe(ring));
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, 0);
	io_uring_cqe_seen(ring, cqe);
}

static struct ua_ctx *ctx_of(struct io_uring *ring)
{
	struct ua_ctx *ctx = ua_ctx_lookup(ring->ring_fd);

	assert_non_null(ctx);
	return ctx;
}

/* While it spins, the CPU it runs on; once asleep, none. */
static void test_thread_publishes_its_cpu(void **state)
{
	struct io_uring busy, idle;
	int cpu;

	(void) state;
	cpu = pin_to_current_cpu();
	init_sqpoll(&busy, 600000, -1);
	nop_round_trip(&busy);
	assert_int_equal(__atomic_load_n(&ctx_of(&busy)->sq_cpu,
					 __ATOMIC_RELAXED), cpu);

	init_sqpoll(&idle, 1, -1);
	nop_round_trip(&idle);
	/* NEED_WAKEUP is set after the thread stopped publishing a CPU. */
	while (!(__atomic_load_n(idle.sq.kflags, __ATOMIC_ACQUIRE) &
		 IORING_SQ_NEED_WAKEUP))
		sched_yield();
	assert_int_equal(__atomic_load_n(&ctx_of(&idle)->sq_cpu,
					 __ATOMIC_RELAXED), -1);
	io_uring_queue_exit(&idle);
	io_uring_queue_exit(&busy);
	unpin();
}

/*
 * Rings join and leave a group whose thread spins on their CPU for ten
 * minutes: each gets the group's lock from it, and its NOPs are served.
 */
static void test_rings_join_a_spinning_group(void **state)
{
	struct io_uring first, joined;
	int i;

	(void) state;
	pin_to_current_cpu();
	init_sqpoll(&first, 600000, -1);
	nop_round_trip(&first);
	for (i = 0; i < 20; i++) {
		init_sqpoll(&joined, 600000, first.ring_fd);
		nop_round_trip(&joined);
		nop_round_trip(&first);
		io_uring_queue_exit(&joined);
	}
	nop_round_trip(&first);
	io_uring_queue_exit(&first);
	unpin();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_publishes_its_cpu),
		cmocka_unit_test(test_rings_join_a_spinning_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
