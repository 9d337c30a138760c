/* SPDX-License-Identifier: MIT */
/*
 * Submitting and reaping: the user side of the rings. The observable
 * behaviour (when io_uring_enter is called, with which flags, what is
 * returned) is liburing's, since programs depend on it.
 */
/* io_uring_get_sqe() is defined here as a function, not inline. */
#define LIBURING_INTERNAL
#include <errno.h>
#include <signal.h>
#include "liburing.h"
#include "ua_private.h"
#include "ua_ring.h"

struct get_args {
	unsigned	submit;
	unsigned	wait_nr;
	unsigned	enter_flags;
	bool		has_ts;
	void		*arg;
	size_t		arg_sz;
};

/* Completions wait in the engine's overflow list: only an enter flushes. */
static bool cq_needs_flush(const struct io_uring *ring)
{
	return IO_URING_READ_ONCE(*ring->sq.kflags) &
	       (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN);
}

/* Or the ring's completions are only ever reaped by an enter (IOPOLL). */
static bool cq_needs_enter(const struct io_uring *ring)
{
	return (ring->int_flags & UA_INT_FLAG_CQ_ENTER) || cq_needs_flush(ring);
}

/*
 * Publishes the SQEs filled since the last flush. The SQ array was set to
 * the identity at mmap time, so publishing is one store-release of the tail
 * after the SQE writes. Returns how many SQEs the engine has not consumed.
 */
static unsigned flush_sq(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	/* SQ_REWIND: the engine takes SQEs from slot 0 on each time; the
	 * indices start over after each submission. */
	if (ring->flags & IORING_SETUP_SQ_REWIND) {
		sq->sqe_tail = 0;
		return tail;
	}
	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - io_uring_smp_load_acquire(sq->khead);
}

/*
 * Whether submitting needs an enter. With SQPOLL only a sleeping thread
 * does: the fence orders the tail store (flush_sq) before the flag load,
 * against the thread's flag store before its last look at the tail.
 */
static bool sq_needs_enter(const struct io_uring *ring, unsigned to_submit,
			   unsigned *flags)
{
	if (!to_submit)
		return false;
	if (!(ring->flags & IORING_SETUP_SQPOLL))
		return true;
	io_uring_smp_mb();
	if (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_NEED_WAKEUP) {
		*flags |= IORING_ENTER_SQ_WAKEUP;
		return true;
	}
	return false;
}

/* Like liburing: under SQPOLL the result is the count of SQEs not yet
 * consumed, whether or not the thread had to be woken. */
static int submit(struct io_uring *ring, unsigned to_submit, unsigned wait_nr,
		  bool getevents)
{
	bool cq_enter = getevents || wait_nr || cq_needs_enter(ring);
	unsigned flags = 0;

	if (!sq_needs_enter(ring, to_submit, &flags) && !cq_enter)
		return (int) to_submit;
	if (cq_enter)
		flags |= IORING_ENTER_GETEVENTS;
	return io_uring_enter((unsigned) ring->enter_ring_fd, to_submit,
			      wait_nr, flags | ua_ring_enter_flags(ring), NULL);
}

UA_PUBLIC int io_uring_submit(struct io_uring *ring)
{
	return submit(ring, flush_sq(ring), 0, false);
}

UA_PUBLIC int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	return submit(ring, flush_sq(ring), wait_nr, false);
}

UA_PUBLIC int io_uring_submit_and_get_events(struct io_uring *ring)
{
	return submit(ring, flush_sq(ring), 0, true);
}

UA_PUBLIC int io_uring_get_events(struct io_uring *ring)
{
	return io_uring_enter((unsigned) ring->enter_ring_fd, 0, 0,
			      IORING_ENTER_GETEVENTS | ua_ring_enter_flags(ring),
			      NULL);
}

/* SQPOLL: sleeps until the submission thread has consumed an SQE. */
UA_PUBLIC int __io_uring_sqring_wait(struct io_uring *ring)
{
	return io_uring_enter((unsigned) ring->enter_ring_fd, 0, 0,
			      IORING_ENTER_SQ_WAIT | ua_ring_enter_flags(ring),
			      NULL);
}

/* The exported symbol of the inline io_uring_get_sqe() (liburing.h). */
UA_PUBLIC struct io_uring_sqe *io_uring_get_sqe(struct io_uring *ring)
{
	return _io_uring_get_sqe(ring);
}

/*
 * The loop behind every wait: peek; if not enough is there (or SQEs are
 * pending, or completions are stuck in overflow), enter the engine and
 * look again. A timed wait enters at most once. Like liburing, a first
 * enter that submitted SQEs makes the result that count.
 */
static int get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
		   struct get_args *a)
{
	struct io_uring_cqe *cqe = NULL;
	bool entered = false;
	int err = 0;

	for (;;) {
		unsigned flags = ua_ring_enter_flags(ring), available;
		bool need_enter = false;
		int ret;

		ret = __io_uring_peek_cqe(ring, &cqe, &available);
		if (ret) {
			if (!err)
				err = ret;
			break;
		}
		if (!cqe && !a->wait_nr && !a->submit) {
			if (entered || !cq_needs_enter(ring)) {
				err = -EAGAIN;
				break;
			}
			need_enter = true;
		}
		if (a->wait_nr > available || need_enter) {
			flags |= IORING_ENTER_GETEVENTS | a->enter_flags;
			need_enter = true;
		}
		if (sq_needs_enter(ring, a->submit, &flags))
			need_enter = true;
		if (!need_enter)
			break;
		if (entered && a->has_ts) {
			if (!cqe && !err)
				err = -ETIME;
			break;
		}
		ret = io_uring_enter2((unsigned) ring->enter_ring_fd, a->submit,
				      a->wait_nr, flags, a->arg, a->arg_sz);
		if (ret < 0) {
			err = ret;
			break;
		}
		a->submit -= (unsigned) ret;
		if (cqe)
			break;
		if (!entered) {
			entered = true;
			err = ret;
		}
	}
	*cqe_ptr = cqe;
	return err;
}

UA_PUBLIC int __io_uring_get_cqe(struct io_uring *ring,
				 struct io_uring_cqe **cqe_ptr,
				 unsigned submit, unsigned wait_nr,
				 sigset_t *sigmask)
{
	struct get_args a = {
		.submit = submit,
		.wait_nr = wait_nr,
		.arg = sigmask,
		.arg_sz = _NSIG / 8,
	};

	return get_cqe(ring, cqe_ptr, &a);
}

/* min_wait_usec: the wait returns after it with what completed, if
 * anything did, without waiting for wait_nr (IORING_FEAT_MIN_TIMEOUT). */
static int get_cqe_timeout(struct io_uring *ring,
			   struct io_uring_cqe **cqe_ptr, unsigned submit,
			   unsigned wait_nr, struct __kernel_timespec *ts,
			   unsigned min_wait_usec, sigset_t *sigmask)
{
	struct io_uring_getevents_arg arg = {
		.sigmask = (__u64) (uintptr_t) sigmask,
		.sigmask_sz = _NSIG / 8,
		.min_wait_usec = min_wait_usec,
		.ts = (__u64) (uintptr_t) ts,
	};
	struct get_args a = {
		.submit = submit,
		.wait_nr = wait_nr,
		.enter_flags = IORING_ENTER_EXT_ARG,
		.has_ts = ts != NULL,
		.arg = &arg,
		.arg_sz = sizeof(arg),
	};

	return get_cqe(ring, cqe_ptr, &a);
}

UA_PUBLIC int io_uring_wait_cqes(struct io_uring *ring,
				 struct io_uring_cqe **cqe_ptr,
				 unsigned wait_nr, struct __kernel_timespec *ts,
				 sigset_t *sigmask)
{
	if (ts)
		return get_cqe_timeout(ring, cqe_ptr, 0, wait_nr, ts, 0,
				       sigmask);
	return __io_uring_get_cqe(ring, cqe_ptr, 0, wait_nr, sigmask);
}

UA_PUBLIC int io_uring_wait_cqes_min_timeout(struct io_uring *ring,
					     struct io_uring_cqe **cqe_ptr,
					     unsigned wait_nr,
					     struct __kernel_timespec *ts,
					     unsigned int min_ts_usec,
					     sigset_t *sigmask)
{
	if (!(ring->features & IORING_FEAT_MIN_TIMEOUT))
		return -EINVAL;
	return get_cqe_timeout(ring, cqe_ptr, 0, wait_nr, ts, min_ts_usec,
			       sigmask);
}

UA_PUBLIC int io_uring_wait_cqe_timeout(struct io_uring *ring,
					struct io_uring_cqe **cqe_ptr,
					struct __kernel_timespec *ts)
{
	return io_uring_wait_cqes(ring, cqe_ptr, 1, ts, NULL);
}

UA_PUBLIC int io_uring_submit_and_wait_timeout(struct io_uring *ring,
					       struct io_uring_cqe **cqe_ptr,
					       unsigned wait_nr,
					       struct __kernel_timespec *ts,
					       sigset_t *sigmask)
{
	unsigned to_submit = flush_sq(ring);

	if (ts)
		return get_cqe_timeout(ring, cqe_ptr, to_submit, wait_nr, ts, 0,
				       sigmask);
	return __io_uring_get_cqe(ring, cqe_ptr, to_submit, wait_nr, sigmask);
}

UA_PUBLIC int io_uring_submit_and_wait_min_timeout(struct io_uring *ring,
						   struct io_uring_cqe **cqe_ptr,
						   unsigned wait_nr,
						   struct __kernel_timespec *ts,
						   unsigned min_wait,
						   sigset_t *sigmask)
{
	if (!(ring->features & IORING_FEAT_MIN_TIMEOUT))
		return -EINVAL;
	return get_cqe_timeout(ring, cqe_ptr, flush_sq(ring), wait_nr, ts,
			       min_wait, sigmask);
}

/*
 * The wait argument is the reg_index-th struct io_uring_reg_wait of the
 * region registered with IORING_MEM_REGION_REG_WAIT_ARG: the enter passes
 * its offset there, not a pointer.
 */
UA_PUBLIC int io_uring_submit_and_wait_reg(struct io_uring *ring,
					   struct io_uring_cqe **cqe_ptr,
					   unsigned wait_nr, int reg_index)
{
	struct get_args a = {
		.submit = flush_sq(ring),
		.wait_nr = wait_nr,
		.enter_flags = IORING_ENTER_EXT_ARG | IORING_ENTER_EXT_ARG_REG,
		.has_ts = true,
		.arg = (void *) (uintptr_t) ((unsigned long) reg_index *
					     sizeof(struct io_uring_reg_wait)),
		.arg_sz = sizeof(struct io_uring_reg_wait),
	};

	return get_cqe(ring, cqe_ptr, &a);
}

/*
 * A mixed ring's CQEs take one slot or two, and padding entries
 * (IORING_CQE_F_SKIP) fill the end of the ring before a wrap: only real
 * CQEs are returned. Padding is consumed only at the head, where no CQE
 * handed out precedes it; otherwise the batch stops before it.
 */
static unsigned peek_batch_mixed(struct io_uring *ring,
				 struct io_uring_cqe **cqes, unsigned count,
				 unsigned head, unsigned ready)
{
	unsigned last = head + ready, nr = 0;

	while (head != last && nr < count) {
		struct io_uring_cqe *cqe =
			&ring->cq.cqes[head & ring->cq.ring_mask];

		if (cqe->flags & IORING_CQE_F_SKIP) {
			if (nr)
				break;
			io_uring_cq_advance(ring, 1);
			head++;
			continue;
		}
		head += io_uring_cqe_nr(cqe);
		cqes[nr++] = cqe;
	}
	return nr;
}

UA_PUBLIC unsigned io_uring_peek_batch_cqe(struct io_uring *ring,
					   struct io_uring_cqe **cqes,
					   unsigned count)
{
	bool flushed = false;
	unsigned ready, head, i;

	for (;;) {
		ready = io_uring_cq_ready(ring);
		if (ready || flushed || !cq_needs_flush(ring))
			break;
		io_uring_get_events(ring);
		flushed = true;
	}
	head = *ring->cq.khead;
	if (ring->flags & IORING_SETUP_CQE_MIXED)
		return peek_batch_mixed(ring, cqes, count, head, ready);
	if (count > ready)
		count = ready;
	for (i = 0; i < count; i++)
		cqes[i] = &ring->cq.cqes[((head + i) & ring->cq.ring_mask) <<
					 io_uring_cqe_shift(ring)];
	return count;
}
