/* SPDX-License-Identifier: MIT */
/*
 * FUTEX_WAIT, FUTEX_WAKE and FUTEX_WAITV, with the kernel's checks and
 * results (Linux 6.18): 32-bit words only, the futex2 flags, a value or
 * mask wider than the word -EINVAL, a word that no longer holds the value
 * -EAGAIN, a wait's result 0 (FUTEX_WAITV: the index of the word that
 * woke it), a wake's the number of waiters it woke.
 *
 * A wait whose word holds its value goes to the process's futex watchers
 * (futex_watch.c), which make it a real futex waiter: an ordinary
 * futex(FUTEX_WAKE) of the word from any thread wakes it, and counts it,
 * as it does a kernel ring's. A ring FUTEX_WAKE wakes the watched ring
 * waits of its word first, then ordinary waiters for the rest of its count.
 *
 * Without futex_waitv(2) (before Linux 5.16, or refused by a sandbox) there
 * are no watchers: a wait holds a worker of the unbounded class, blocked in
 * FUTEX_WAIT_BITSET with its mask, as WAITID does, interrupted by a
 * cancellation or the ring's teardown (-ECANCELED). A FUTEX_WAITV of more
 * than one word then fails with -ENOSYS: no call waits on several words.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/futex.h"
#include "engine/req.h"
#include "engine/uaccess.h"

struct ua_futex {
	struct ua_futex_pending	wait;
	struct ua_futex_word	word;		/* FUTEX_WAIT's, FUTEX_WAKE's */
	bool			checked;	/* the words held their values */
};
#define futex_of(req)	ua_cmd(req, struct ua_futex)

static int done(struct ua_req *req, int ret)
{
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* The futex2 flags and a value or mask for them: -EINVAL as the kernel's
 * futex_flags_valid() and futex_validate_input() refuse them. */
static bool flags_valid(__u32 flags)
{
	return !(flags & ~UA_FUTEX2_VALID) &&
	       (flags & UA_FUTEX2_SIZE_MASK) == UA_FUTEX2_SIZE_U32;
}

static bool fits_word(__u64 v)
{
	return !(v >> 32);
}

/* FUTEX_WAIT and FUTEX_WAKE: fd the flags, addr the word, addr2 the value
 * (the count for a wake), addr3 the mask. */
static int word_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_futex *f = futex_of(req);
	__u32 flags = (__u32) sqe->fd;

	if (!flags_valid(flags) || !fits_word(sqe->addr2) ||
	    !fits_word(sqe->addr3))
		return -EINVAL;
	f->word = (struct ua_futex_word) {
		.uaddr = sqe->addr, .val = (__u32) sqe->addr2,
		.flags = flags, .mask = (__u32) sqe->addr3,
	};
	f->wait = (struct ua_futex_pending) {
		.req = req, .words = &f->word, .nr = 1,
	};
	f->checked = false;
	/* Without the watchers a wait holds a worker for as long as it
	 * lasts: the unbounded class. */
	req->file_kind = UA_FILE_STREAM;
	return 0;
}

int ua_futex_wait_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	int ret = word_prep(req, sqe);

	if (!ret && !futex_of(req)->word.mask)
		ret = -EINVAL;
	return ret;
}

int ua_futex_wake_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	return word_prep(req, sqe);
}

/* The word holds the value waited for: 0, or -EINVAL, -EFAULT, -EAGAIN. */
static int check_word(const struct ua_futex_word *word)
{
	__u32 v;

	if (word->uaddr & (sizeof(v) - 1))
		return -EINVAL;
	if (ua_copy_from_user(&v, word->uaddr, sizeof(v)))
		return -EFAULT;
	return v == word->val ? 0 : -EAGAIN;
}

static int private_flag(__u32 flags)
{
	return (flags & UA_FUTEX2_PRIVATE) ? FUTEX_PRIVATE_FLAG : 0;
}

/* A worker's wait, when there are no watchers: interrupted only by a
 * cancellation or teardown (every other signal is blocked on workers).
 * A word changed since the issue checked it was woken meanwhile. */
static int wait_blocking(struct ua_req *req, const struct ua_futex_word *word)
{
	long ret = syscall(SYS_futex, (uintptr_t) word->uaddr,
			   FUTEX_WAIT_BITSET | private_flag(word->flags),
			   word->val, NULL, NULL, word->mask);

	if (!ret || errno == EAGAIN)
		return done(req, 0);
	return done(req, errno == EINTR ? -ECANCELED : -errno);
}

/*
 * FUTEX_WAIT and FUTEX_WAITV: every word is checked in order, then waited
 * on, by the watchers; without them in a worker, which checks only if the
 * issue did not (IOSQE_ASYNC).
 */
int ua_futex_wait(struct ua_req *req, unsigned issue_flags)
{
	struct ua_futex *f = futex_of(req);
	struct ua_futex_pending *wait = &f->wait;
	int ret = 0;

	for (unsigned i = 0; !f->checked && !ret && i < wait->nr; i++)
		ret = check_word(&wait->words[i]);
	if (ret)
		return done(req, ret);
	f->checked = true;
	if (ua_futex_watchers_ready()) {
		ret = ua_futex_watch(wait);
		return ret ? done(req, ret) : UA_PARKED;
	}
	if (wait->nr > 1)
		return done(req, -ENOSYS);
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return wait_blocking(req, &wait->words[0]);
}

/*
 * A kernel wake reads a count of 0 as none (FLAGS_STRICT) and a negative
 * one as one, and fails an empty mask or a bad word before counting.
 * The watched ring waits come first; FUTEX_REQUEUE of nobody onto the word
 * itself makes the kernel's checks of the word without waking anyone.
 */
int ua_futex_wake(struct ua_req *req, unsigned issue_flags)
{
	const struct ua_futex_word *word = &futex_of(req)->word;
	struct ua_futex_suspended missed = { .nr = 0 };
	int op = private_flag(word->flags);
	int nr = (int) word->val, n = 0;
	long ret;

	(void) issue_flags;
	if (!word->mask)
		return done(req, -EINVAL);
	if (nr < 0)
		nr = 1;
	if (nr && !(word->uaddr & 3))
		n = ua_futex_wake_watched(word->uaddr, word->flags, word->mask,
					  nr, &missed);
	if (!nr)
		ret = syscall(SYS_futex, (uintptr_t) word->uaddr,
			      FUTEX_REQUEUE | op, 0, 0,
			      (uintptr_t) word->uaddr, 0);
	else if (n < nr)
		ret = syscall(SYS_futex, (uintptr_t) word->uaddr,
			      FUTEX_WAKE_BITSET | op, nr - n, NULL, NULL,
			      word->mask);
	else
		ret = 0;
	ret = ret < 0 ? (n ? n : -errno) : n + ret;
	ua_futex_resume(&missed);
	return done(req, (int) ret);
}

/* FUTEX_WAITV: addr the application's struct futex_waitv vector, len its
 * length; each entry's checks are made here, as the kernel's prep does. */
int ua_futex_waitv_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_futex *f = futex_of(req);
	struct futex_waitv *v;
	unsigned nr = sqe->len;
	int ret = 0;

	f->wait = (struct ua_futex_pending) { .req = req, .vector = true };
	f->checked = false;
	if (sqe->fd || !nr || nr > UA_FUTEX_WAITV_MAX)
		return -EINVAL;
	v = malloc(nr * sizeof(*v));
	f->wait.words = calloc(nr, sizeof(*f->wait.words));
	if (!v || !f->wait.words) {
		free(v);
		return -ENOMEM;
	}
	if (ua_copy_from_user(v, sqe->addr, nr * sizeof(*v)))
		ret = -EFAULT;
	for (unsigned i = 0; !ret && i < nr; i++) {
		if (!flags_valid(v[i].flags) || v[i].__reserved ||
		    !fits_word(v[i].val))
			ret = -EINVAL;
		f->wait.words[i] = (struct ua_futex_word) {
			.uaddr = v[i].uaddr, .val = (__u32) v[i].val,
			.flags = v[i].flags, .mask = FUTEX_BITSET_MATCH_ANY,
			.index = i,
		};
	}
	free(v);
	f->wait.nr = nr;
	req->file_kind = UA_FILE_STREAM;
	return ret;
}


/* FUTEX_WAITV's copy of the vector. */
void ua_futex_cleanup(struct ua_req *req)
{
	struct ua_futex_pending *wait = &futex_of(req)->wait;

	if (wait->vector)
		free(wait->words);
	wait->words = NULL;
}
