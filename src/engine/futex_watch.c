/* SPDX-License-Identifier: MIT */
/*
 * The process's futex watchers: what makes a ring futex wait a real futex
 * waiter, woken by an ordinary futex(FUTEX_WAKE) from any thread as the
 * kernel's is, without a thread per wait.
 *
 * A watcher is a thread blocked in futex_waitv(2) on up to 127 words of
 * pending ring waits plus one control word of its own. Changing its set
 * (a new wait, one completed or cancelled) bumps the control word and
 * wakes it, and it arms again with the new set. When futex_waitv returns
 * the index of a word, that wait was woken: its request completes (0, or
 * its index in a FUTEX_WAITV vector) through the issue layer's completion
 * path (ua_issue_up), as the timer's and the poller's do.
 *
 * What keeps it the kernel's behaviour:
 *  - Arming is synchronous: the issue returns only once the watcher holds
 *    the word in the kernel (a FUTEX_CMP_REQUEUE of its control word onto
 *    itself counts it there without waking it), so a wake that follows the
 *    submission, with or without a change of the word, finds the waiter.
 *  - A watcher holds a word once at most: a wake reaches one of its
 *    entries per word, so each waiter the kernel counts is one ring wait.
 *  - futex_waitv reports one index even when several of its words were
 *    woken before it ran: after a wake the watcher reads its other words,
 *    and a wait whose word no longer holds its value completes too, as
 *    does one whose word changed before the watcher armed it (the wake
 *    that went with the change is taken as its own).
 *  - A ring FUTEX_WAKE wakes the ring waits of its word through this table
 *    first, then, for the rest of its count, the ordinary waiters, after
 *    the watchers of the waits it completed have let go of their words and
 *    those its mask misses are left out of their watchers' sets (a
 *    watcher's entry has no mask) until it is done.
 * What remains different is listed in uring-alike(7).
 *
 * One lock guards every watcher's set. Whoever changes sets waits, after
 * dropping it, until the watchers it changed have armed again: removed
 * words then no longer count in the kernel, added ones do. A watcher
 * thread waits so for others too, except for one that is itself waiting
 * for watchers (it holds nothing in the kernel meanwhile, and two could
 * wait for each other). Requests are completed after that (a completion
 * may issue a linked wait), counted in `posting` so that a ring's
 * teardown can wait until no watcher touches it.
 * Watchers are never freed (a thread exits when its set is empty and no
 * ring uses futex waits any more, and a later wait starts it again), so a
 * submitter may wait on a watcher's state after dropping the lock.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "engine/cancel.h"
#include "engine/futex.h"
#include "engine/list.h"
#include "engine/req.h"
#include "engine/sys.h"
#include "engine/timer.h"
#include "engine/uaccess.h"
#include "engine/thread.h"

#define SLOTS	(UA_FUTEX_WAITV_MAX - 1)	/* and the control word */

struct ua_futex_watcher {
	struct ua_futex_watcher	*next;
	__u32			ctl;		/* atomic: bumped on a change */
	__u32			armed_gen;	/* atomic: gen last armed */
	__u32			armed_ctl;	/* atomic: ctl it armed with */
	unsigned		syncers;	/* atomic: waiting for an arm */
	bool			running;	/* atomic: a thread serves it */
	bool			syncing;	/* atomic: its thread waits for
						 * other watchers */
	/* Under the lock: */
	__u32			gen;		/* changes to the set */
	unsigned		nr;
	struct ua_futex_word	*slot[SLOTS];
	unsigned		slot_seq[SLOTS];	/* bumped on a change */
};

static struct {
	pthread_mutex_t		lock;
	pthread_cond_t		posted;		/* posting went down */
	struct ua_futex_watcher	*watchers;
	unsigned		posting;	/* threads completing requests */
	__u64			seq;		/* words armed so far */
	struct ua_ctx		**rings;	/* the rings that armed a wait */
	unsigned		nr_rings, cap_rings;
	/* futex_waitv failed as it cannot when it works (refused after the
	 * probe, say): waits go to workers from then on. */
	bool			broken;		/* atomic */
} fw = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.posted = PTHREAD_COND_INITIALIZER,
};

/* The watcher this thread is, if any: its own words are never in the
 * kernel while it runs here, so it never waits for itself. */
static __thread struct ua_futex_watcher *self;

static long futex_op(__u32 *uaddr, int op, __u32 val, __u32 val2,
		     __u32 *uaddr2, __u32 val3)
{
	return syscall(SYS_futex, uaddr, op, val, (unsigned long) val2, uaddr2,
		       val3);
}

/* The set changed: the watcher arms again (unless it is this thread,
 * which will before it waits). */
static void kick(struct ua_futex_watcher *w)
{
	w->gen++;
	if (w == self)
		return;
	__atomic_add_fetch(&w->ctl, 1, __ATOMIC_SEQ_CST);
	futex_op(&w->ctl, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
}

/*
 * Until w has armed at least gen and sits in futex_waitv: then it holds
 * every word it held at gen, and none it let go of. Its control word
 * counts it (a requeue onto itself wakes nobody); between publishing and
 * entering the kernel it is only a moment away, and so is a watcher
 * re-arming after a wake.
 */
static void sync_with(struct ua_futex_watcher *w, __u32 gen)
{
	if (w == self)
		return;
	__atomic_add_fetch(&w->syncers, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&w->running, __ATOMIC_SEQ_CST)) {
		__u32 armed = __atomic_load_n(&w->armed_gen, __ATOMIC_SEQ_CST);

		if (self && __atomic_load_n(&w->syncing, __ATOMIC_SEQ_CST))
			break;
		if ((__s32) (armed - gen) < 0 && !self) {
			futex_op(&w->armed_gen, FUTEX_WAIT_PRIVATE, armed, 0,
				 NULL, 0);
			continue;
		}
		if ((__s32) (armed - gen) >= 0 &&
		    futex_op(&w->ctl, FUTEX_CMP_REQUEUE_PRIVATE, 0, 1, &w->ctl,
			     __atomic_load_n(&w->armed_ctl,
					     __ATOMIC_SEQ_CST)) == 1)
			break;
		sched_yield();
	}
	__atomic_sub_fetch(&w->syncers, 1, __ATOMIC_SEQ_CST);
}

/*
 * What one holder of the lock changed: the requests it ended, completed
 * once the lock is dropped, and the watchers whose sets it changed, with
 * the set each must have armed.
 */
struct change {
	struct ua_req_list	done;
	struct ua_futex_watcher	*w[UA_FUTEX_WAITV_MAX];
	__u32			gen[UA_FUTEX_WAITV_MAX];
	unsigned		nr;
};

static void change_init(struct change *c)
{
	ua_list_init(&c->done);
	c->nr = 0;
}

static void touch(struct change *c, struct ua_futex_watcher *w)
{
	unsigned i;

	for (i = 0; i < c->nr && c->w[i] != w; i++)
		;
	if (i == c->nr && c->nr < UA_FUTEX_WAITV_MAX)
		c->w[c->nr++] = w;
}

/* Drops the lock, waits for the watchers changed, then completes what
 * ended (counted in posting from under the lock). */
static void finish_unlock(struct change *c)
{
	bool posts = c->done.head;
	struct ua_req *req;

	for (unsigned i = 0; i < c->nr; i++)
		c->gen[i] = c->w[i]->gen;
	if (posts)
		fw.posting++;
	pthread_mutex_unlock(&fw.lock);
	if (self)
		__atomic_store_n(&self->syncing, true, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < c->nr; i++)
		sync_with(c->w[i], c->gen[i]);
	if (self)
		__atomic_store_n(&self->syncing, false, __ATOMIC_SEQ_CST);
	c->nr = 0;
	if (!posts)
		return;
	while ((req = ua_list_pop(&c->done)))
		ua_issue_up->complete_remote(req);
	pthread_mutex_lock(&fw.lock);
	if (!--fw.posting)
		pthread_cond_broadcast(&fw.posted);
	pthread_mutex_unlock(&fw.lock);
}

static void disarm_word(struct ua_futex_word *word, struct change *c)
{
	struct ua_futex_watcher *w = word->watcher;

	w->slot[word->slot] = NULL;
	w->slot_seq[word->slot]++;
	w->nr--;
	word->watcher = NULL;
	kick(w);
	touch(c, w);
}

/* The wait is over, whoever ends it: every word leaves its watcher. */
static void disarm(struct ua_futex_pending *wait, struct change *c)
{
	for (unsigned i = 0; i < wait->nr; i++)
		if (wait->words[i].watcher)
			disarm_word(&wait->words[i], c);
}

/* The wait ends with res. */
static void end_wait(struct ua_futex_pending *wait, int res, struct change *c)
{
	disarm(wait, c);
	wait->req->res = res;
	wait->req->failed = res < 0;
	ua_list_add(&c->done, wait->req);
}

/* A word of a wait woke it. */
static void claim(struct ua_futex_word *word, struct change *c)
{
	end_wait(word->wait, word->wait->vector ? (int) word->index : 0, c);
}

/* Words whose value is no longer the one waited for were woken (or are
 * about to be); one that cannot be read any more fails its wait. */
static void claim_changed(struct ua_futex_watcher *w, struct change *c)
{
	for (unsigned i = 0; i < SLOTS; i++) {
		struct ua_futex_word *word = w->slot[i];
		__u32 v;

		if (!word)
			continue;
		if (ua_copy_from_user(&v, word->uaddr, sizeof(v)))
			end_wait(word->wait, -EFAULT, c);
		else if (v != word->val)
			claim(word, c);
	}
}

/* The vector futex_waitv waits on: the words, then the control word. */
static unsigned build(struct ua_futex_watcher *w, struct futex_waitv *vec,
		      unsigned *slot_of, unsigned *seq_of)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SLOTS; i++) {
		struct ua_futex_word *word = w->slot[i];

		if (!word || word->suspended)
			continue;
		vec[n] = (struct futex_waitv) {
			.val = word->val, .uaddr = word->uaddr,
			.flags = word->flags,
		};
		slot_of[n] = i;
		seq_of[n++] = w->slot_seq[i];
	}
	vec[n] = (struct futex_waitv) {
		.val = w->ctl, .uaddr = (uintptr_t) &w->ctl,
		.flags = UA_FUTEX2_SIZE_U32 | UA_FUTEX2_PRIVATE,
	};
	return n;
}

/* Tells those waiting for it which set the watcher is about to wait on. */
static void publish_armed(struct ua_futex_watcher *w)
{
	__atomic_store_n(&w->armed_ctl, w->ctl, __ATOMIC_SEQ_CST);
	__atomic_store_n(&w->armed_gen, w->gen, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->syncers, __ATOMIC_SEQ_CST))
		futex_op(&w->armed_gen, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0);
}

static bool stays(const struct ua_futex_watcher *w)
{
	return w->nr || (fw.nr_rings && !fw.broken);
}

/* Whether waits may go to the watchers. */
bool ua_futex_watchers_ready(void)
{
	return ua_sys_futex_waitv_ready() &&
	       !__atomic_load_n(&fw.broken, __ATOMIC_RELAXED);
}

/* Every wait the watcher holds ends with res. */
static void end_all(struct ua_futex_watcher *w, int res, struct change *c)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (w->slot[i])
			end_wait(w->slot[i]->wait, res, c);
}

/*
 * What futex_waitv said, vec built with n words: the index of a word that
 * woke (its wait ends, if that slot still holds the word the index was
 * built for), the control word's (the set changed), or an error: EAGAIN
 * when a word or the control word no longer held its value, EFAULT for a
 * word gone; anything else will not pass, and fails every wait. Returns
 * whether the words must be read again.
 */
static bool take_result(struct ua_futex_watcher *w, long ret, int err,
			const struct futex_waitv *vec, unsigned n,
			const unsigned *slot_of, const unsigned *seq_of,
			struct change *c)
{
	if (ret >= 0 && (unsigned long) ret < n) {
		struct ua_futex_word *word = w->slot[slot_of[ret]];

		if (word && w->slot_seq[slot_of[ret]] == seq_of[ret])
			claim(word, c);
		return true;
	}
	if (ret >= 0 || err == EINTR)
		return false;
	if (err == EAGAIN)
		return __atomic_load_n(&w->ctl, __ATOMIC_RELAXED) == vec[n].val;
	if (err == EFAULT)
		return true;
	__atomic_store_n(&fw.broken, true, __ATOMIC_RELAXED);
	end_all(w, -err, c);
	return false;
}

/* One watcher's thread: after a wake its other words are read again. */
static void *watcher_main(void *arg)
{
	struct ua_futex_watcher *w = arg;
	struct futex_waitv vec[UA_FUTEX_WAITV_MAX];
	unsigned slot_of[SLOTS], seq_of[SLOTS], n;
	struct change c;
	bool rescan = false;
	long ret;
	int err;

	self = w;
	prctl(PR_SET_NAME, "ua-futex", 0, 0, 0);
	change_init(&c);
	pthread_mutex_lock(&fw.lock);
	while (stays(w)) {
		if (rescan)
			claim_changed(w, &c);
		rescan = false;
		if (c.done.head) {
			finish_unlock(&c);
			pthread_mutex_lock(&fw.lock);
			continue;
		}
		n = build(w, vec, slot_of, seq_of);
		publish_armed(w);
		pthread_mutex_unlock(&fw.lock);
		ret = ua_sys_futex_waitv(vec, n + 1);
		err = errno;
		pthread_mutex_lock(&fw.lock);
		rescan = take_result(w, ret, err, vec, n, slot_of, seq_of, &c);
	}
	__atomic_store_n(&w->running, false, __ATOMIC_SEQ_CST);
	publish_armed(w);
	pthread_mutex_unlock(&fw.lock);
	return NULL;
}

/* Detached, with every signal blocked: signals stay the application's. */
static int start(struct ua_futex_watcher *w)
{
	int ret;

	if (w->running)
		return 0;
	__atomic_store_n(&w->running, true, __ATOMIC_SEQ_CST);
	ret = ua_thread_start(watcher_main, w);
	if (ret)
		__atomic_store_n(&w->running, false, __ATOMIC_SEQ_CST);
	return ret;
}

static bool holds(const struct ua_futex_watcher *w, __u64 uaddr)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (w->slot[i] && w->slot[i]->uaddr == uaddr)
			return true;
	return false;
}

/* A watcher with room that does not hold the word yet; a new one if none. */
static struct ua_futex_watcher *pick(__u64 uaddr)
{
	struct ua_futex_watcher *w, **tail = &fw.watchers;

	for (w = fw.watchers; w; tail = &w->next, w = w->next)
		if (w != self && w->nr < SLOTS && !holds(w, uaddr))
			return w;
	w = calloc(1, sizeof(*w));
	if (w)
		*tail = w;
	return w;
}

static int place(struct ua_futex_word *word, struct change *c)
{
	struct ua_futex_watcher *w = pick(word->uaddr);
	unsigned i;
	int ret;

	if (!w)
		return -ENOMEM;
	ret = start(w);
	if (ret)
		return ret;
	for (i = 0; w->slot[i]; i++)
		;
	w->slot[i] = word;
	w->slot_seq[i]++;
	w->nr++;
	word->watcher = w;
	word->slot = i;
	word->seq = fw.seq++;
	word->suspended = false;
	kick(w);
	touch(c, w);
	return 0;
}

/* The ring is among those the watchers serve. */
static int attach(struct ua_ctx *ctx)
{
	struct ua_ctx **t;

	for (unsigned i = 0; i < fw.nr_rings; i++)
		if (fw.rings[i] == ctx)
			return 0;
	if (fw.nr_rings == fw.cap_rings) {
		unsigned cap = fw.cap_rings ? 2 * fw.cap_rings : 8;

		t = realloc(fw.rings, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		fw.rings = t;
		fw.cap_rings = cap;
	}
	fw.rings[fw.nr_rings++] = ctx;
	return 0;
}

/* The ring is gone: a watcher left with nothing to watch exits. */
static void detach(struct ua_ctx *ctx)
{
	for (unsigned i = 0; i < fw.nr_rings; i++) {
		if (fw.rings[i] != ctx)
			continue;
		fw.rings[i] = fw.rings[--fw.nr_rings];
		if (fw.nr_rings)
			return;
		for (struct ua_futex_watcher *w = fw.watchers; w; w = w->next)
			if (w->running && !w->nr)
				kick(w);
		return;
	}
}

/*
 * Gives the words of a wait whose values were just found equal to the
 * watchers; returns once they wait on them (0: the wait completes itself),
 * or -errno, nothing armed. A watcher thread issuing a linked wait does
 * not wait for others (see above): the words are armed a moment later.
 */
int ua_futex_watch(struct ua_futex_pending *wait)
{
	struct change c;
	int ret;

	change_init(&c);
	pthread_mutex_lock(&fw.lock);
	ret = attach(wait->req->ctx);
	for (unsigned i = 0; !ret && i < wait->nr; i++) {
		wait->words[i].wait = wait;
		wait->words[i].watcher = NULL;
		ret = place(&wait->words[i], &c);
	}
	if (ret)
		disarm(wait, &c);
	finish_unlock(&c);
	return ret;
}

static bool same_word(const struct ua_futex_word *word, __u64 uaddr,
		      __u32 flags)
{
	return word->uaddr == uaddr &&
	       !((word->flags ^ flags) & UA_FUTEX2_PRIVATE);
}

/* The earliest armed word a wake of uaddr reaches, or NULL. */
static struct ua_futex_word *first_woken(__u64 uaddr, __u32 flags, __u32 mask)
{
	struct ua_futex_word *best = NULL;

	for (struct ua_futex_watcher *w = fw.watchers; w; w = w->next) {
		for (unsigned i = 0; w->nr && i < SLOTS; i++) {
			struct ua_futex_word *word = w->slot[i];

			if (word && same_word(word, uaddr, flags) &&
			    (word->mask & mask) &&
			    (!best || word->seq < best->seq))
				best = word;
		}
	}
	return best;
}

/* The words of uaddr the wake's mask misses leave their watchers' sets:
 * their watchers' entries have no mask, and the kernel would count them. */
static void suspend_missed(__u64 uaddr, __u32 flags, __u32 mask,
			   struct ua_futex_suspended *s, struct change *c)
{
	for (struct ua_futex_watcher *w = fw.watchers; w; w = w->next) {
		for (unsigned i = 0; w->nr && i < SLOTS; i++) {
			struct ua_futex_word *word = w->slot[i];

			if (!word || !same_word(word, uaddr, flags) ||
			    (word->mask & mask) || word->suspended ||
			    s->nr == UA_FUTEX_WAITV_MAX)
				continue;
			word->suspended = true;
			s->w[s->nr] = w;
			s->slot[s->nr] = i;
			s->seq[s->nr++] = w->slot_seq[i];
			kick(w);
			touch(c, w);
		}
	}
}

/*
 * A ring FUTEX_WAKE: completes up to nr ring waits of the word, the
 * earliest armed first, and returns how many. When fewer than nr, the
 * caller wakes ordinary waiters next, then resumes what s holds: before
 * that, the watchers of the words completed let go of them and those the
 * mask misses are left out (s), so that the kernel counts no entry of a
 * watcher.
 */
int ua_futex_wake_watched(__u64 uaddr, __u32 flags, __u32 mask, int nr,
			  struct ua_futex_suspended *s)
{
	struct ua_futex_word *word;
	struct change c;
	int n = 0;

	s->nr = 0;
	change_init(&c);
	pthread_mutex_lock(&fw.lock);
	while (n < nr && (word = first_woken(uaddr, flags, mask))) {
		claim(word, &c);
		n++;
	}
	if (n < nr)
		suspend_missed(uaddr, flags, mask, s, &c);
	finish_unlock(&c);
	return n;
}

/* The words a wake left out go back into their watchers' sets, unless
 * their waits ended meanwhile. */
void ua_futex_resume(struct ua_futex_suspended *s)
{
	struct change c;

	if (!s->nr)
		return;
	change_init(&c);
	pthread_mutex_lock(&fw.lock);
	for (unsigned i = 0; i < s->nr; i++) {
		struct ua_futex_watcher *w = s->w[i];

		if (w->slot_seq[s->slot[i]] != s->seq[i])
			continue;
		w->slot[s->slot[i]]->suspended = false;
		kick(w);
		touch(&c, w);
	}
	finish_unlock(&c);
}

/*
 * The ring's waits cancel_match() names, for the caller to complete with
 * -ECANCELED, once their watchers have let go of their words. Counted as
 * the kernel counts them: a cancellation of ALL takes every futex wait in
 * one go, which it reports as one.
 */
int ua_futex_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		    struct ua_req_list *out)
{
	struct change c;
	int nr = 0;

	change_init(&c);
	pthread_mutex_lock(&fw.lock);
	for (struct ua_futex_watcher *w = fw.watchers; w; w = w->next) {
		for (unsigned i = 0; w->nr && i < SLOTS; i++) {
			struct ua_futex_word *word = w->slot[i];

			if (!word || word->wait->req->ctx != ctx ||
			    !ua_cancel_match(word->wait->req, cd))
				continue;
			ua_list_add(out, word->wait->req);
			disarm(word->wait, &c);
			nr++;
			if (!ua_cancel_all(cd))
				goto out;
		}
	}
out:
	finish_unlock(&c);
	if (nr && (cd->flags & IORING_ASYNC_CANCEL_ALL))
		return 1;
	return nr;
}

/*
 * Teardown: the ring's waits are cancelled, and once no watcher is still
 * completing a request (of this ring or any), none touches the ring again.
 */
void ua_futex_stop(struct ua_ctx *ctx)
{
	struct ua_cancel_data cd = { .flags = IORING_ASYNC_CANCEL_ANY };
	struct ua_req_list l;

	ua_list_init(&l);
	ua_futex_cancel(ctx, &cd, &l);
	pthread_mutex_lock(&fw.lock);
	detach(ctx);
	while (fw.posting)
		pthread_cond_wait(&fw.posted, &fw.lock);
	pthread_mutex_unlock(&fw.lock);
	ua_issue_up->complete_list(ctx, &l, -ECANCELED);
}

/* The child has no watcher threads: the watchers are forgotten (their
 * memory with them), and the rings with them are the parent's. */
void ua_futex_atfork_child(void)
{
	pthread_mutex_init(&fw.lock, NULL);
	pthread_cond_init(&fw.posted, NULL);
	fw.watchers = NULL;
	fw.posting = 0;
	fw.rings = NULL;
	fw.nr_rings = fw.cap_rings = 0;
}
