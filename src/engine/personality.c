/* SPDX-License-Identifier: MIT */
/*
 * Personalities: the credentials of the registering thread (user, group
 * and supplementary group ids, capabilities), under an id that a request
 * names in sqe->personality to run with them, as the kernel's.
 *
 * A request whose personality the submitting thread already has runs as
 * any other, at no cost but reading the thread's credentials. One that
 * needs others is run by a worker, which takes them while it runs the
 * request: Linux keeps credentials per thread, and the raw system calls
 * change only the calling thread's (glibc's wrappers would change every
 * thread of the process). The worker keeps its saved user id, so that it
 * can go back to its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/lock.h"
#include "engine/personality.h"
#include "engine/ring.h"

#define MAX_PERSONALITY	0xffffu		/* sqe->personality is 16 bits */

struct ua_cred {
	unsigned	refs;		/* atomic */
	uid_t		ruid, euid, suid, fsuid;
	gid_t		rgid, egid, sgid, fsgid;
	struct __user_cap_data_struct caps[2];
	int		ngroups;
	gid_t		groups[];
};

struct ua_personalities {
	pthread_mutex_t	lock;
	struct ua_cred	*cred[MAX_PERSONALITY + 1];	/* [0] unused */
	unsigned	next;		/* ids are handed out cyclically */
};

static int cap_rw(int nr, struct __user_cap_data_struct *data)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return (int) syscall(nr, &hdr, data);
}

/* The calling thread's credentials; NULL without memory. */
static struct ua_cred *cred_current(void)
{
	int n = (int) syscall(SYS_getgroups, 0, NULL);
	struct ua_cred *c;

	if (n < 0)
		n = 0;
	c = calloc(1, sizeof(*c) + (size_t) n * sizeof(gid_t));
	if (!c)
		return NULL;
	c->refs = 1;
	syscall(SYS_getresuid, &c->ruid, &c->euid, &c->suid);
	syscall(SYS_getresgid, &c->rgid, &c->egid, &c->sgid);
	/* An id of -1 changes nothing and returns the current one. */
	c->fsuid = (uid_t) syscall(SYS_setfsuid, -1);
	c->fsgid = (gid_t) syscall(SYS_setfsgid, -1);
	c->ngroups = n ? (int) syscall(SYS_getgroups, n, c->groups) : 0;
	if (c->ngroups < 0)
		c->ngroups = 0;
	cap_rw(SYS_capget, c->caps);
	return c;
}

static void cred_put(struct ua_cred *c)
{
	if (c && !__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		free(c);
}

/* Equal for every check a request's work makes. */
static bool cred_equal(const struct ua_cred *a, const struct ua_cred *b)
{
	return a->ruid == b->ruid && a->euid == b->euid &&
	       a->fsuid == b->fsuid && a->rgid == b->rgid &&
	       a->egid == b->egid && a->fsgid == b->fsgid &&
	       a->caps[0].effective == b->caps[0].effective &&
	       a->caps[1].effective == b->caps[1].effective &&
	       a->ngroups == b->ngroups &&
	       !memcmp(a->groups, b->groups,
		       (size_t) a->ngroups * sizeof(gid_t));
}

static struct ua_personalities *table(struct ua_ctx *ctx)
{
	return __atomic_load_n(&ctx->personalities, __ATOMIC_ACQUIRE);
}

/* Made at the first registration, under uring_lock. */
static struct ua_personalities *table_make(struct ua_ctx *ctx)
{
	struct ua_personalities *t = table(ctx);

	ua_lock_assert_held(&ctx->uring_lock);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->next = 1;
	__atomic_store_n(&ctx->personalities, t, __ATOMIC_RELEASE);
	return t;
}

/* The next free id from t->next on, wrapping; 0 when all are taken. */
static unsigned take_id(struct ua_personalities *t)
{
	ua_lock_assert_held(&t->lock);
	for (unsigned i = 0; i < MAX_PERSONALITY; i++) {
		unsigned id = (t->next - 1 + i) % MAX_PERSONALITY + 1;

		if (!t->cred[id]) {
			t->next = id % MAX_PERSONALITY + 1;
			return id;
		}
	}
	return 0;
}

int ua_personality_register(struct ua_ctx *ctx)
{
	struct ua_personalities *t;
	struct ua_cred *c = cred_current();
	unsigned id = 0;

	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->uring_lock);
	t = table_make(ctx);
	if (t) {
		pthread_mutex_lock(&t->lock);
		id = take_id(t);
		if (id)
			t->cred[id] = c;
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&ctx->uring_lock);
	if (!id) {
		free(c);
		return t ? -EBUSY : -ENOMEM;
	}
	return (int) id;
}

int ua_personality_unregister(struct ua_ctx *ctx, unsigned id)
{
	struct ua_personalities *t = table(ctx);
	struct ua_cred *c = NULL;

	if (!t || !id || id > MAX_PERSONALITY)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	c = t->cred[id];
	t->cred[id] = NULL;
	pthread_mutex_unlock(&t->lock);
	if (!c)
		return -EINVAL;
	cred_put(c);
	return 0;
}

/* Teardown: no request runs any more. */
void ua_personality_free(struct ua_ctx *ctx)
{
	struct ua_personalities *t = table(ctx);

	if (!t)
		return;
	for (unsigned id = 1; id <= MAX_PERSONALITY; id++)
		cred_put(t->cred[id]);
	pthread_mutex_destroy(&t->lock);
	free(t);
	ctx->personalities = NULL;
}

/* id's credentials, held for the caller; NULL if id is not registered. */
static struct ua_cred *cred_get(struct ua_ctx *ctx, unsigned id)
{
	struct ua_personalities *t = table(ctx);
	struct ua_cred *c = NULL;

	if (!t || id > MAX_PERSONALITY)
		return NULL;
	pthread_mutex_lock(&t->lock);
	c = t->cred[id];
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
	return c;
}

int ua_personality_differs(struct ua_ctx *ctx, unsigned id)
{
	struct ua_cred *want = cred_get(ctx, id), *cur;
	int ret;

	if (!want)
		return -EINVAL;
	cur = cred_current();
	ret = !cur || !cred_equal(want, cur);
	cred_put(cur);
	cred_put(want);
	return ret;
}

/*
 * Sets the calling thread's credentials to c's, but for the saved user
 * and group ids, which stay so that the thread can go back; the
 * capabilities permitted stay too (a thread cannot get them back), only
 * the effective ones are c's. Groups go first, while the thread may still
 * set them.
 */
static void cred_apply(const struct ua_cred *c, const struct ua_cred *own)
{
	struct __user_cap_data_struct caps[2];

	syscall(SYS_setgroups, c->ngroups, c->groups);
	syscall(SYS_setresgid, c->rgid, c->egid, -1);
	syscall(SYS_setresuid, c->ruid, c->euid, -1);
	syscall(SYS_setfsgid, c->fsgid);
	syscall(SYS_setfsuid, c->fsuid);
	for (int i = 0; i < 2; i++) {
		caps[i] = own->caps[i];
		caps[i].effective = c->caps[i].effective & own->caps[i].permitted;
	}
	cap_rw(SYS_capset, caps);
}

/* Back to own: the user ids first, which give back the capabilities the
 * rest needs. */
static void cred_restore(const struct ua_cred *own)
{
	syscall(SYS_setresuid, own->ruid, own->euid, own->suid);
	syscall(SYS_setresgid, own->rgid, own->egid, own->sgid);
	syscall(SYS_setgroups, own->ngroups, own->groups);
	syscall(SYS_setfsgid, own->fsgid);
	syscall(SYS_setfsuid, own->fsuid);
	cap_rw(SYS_capset, (struct __user_cap_data_struct *) own->caps);
}

/* Whether the calling thread has c's credentials, read without allocating:
 * the file system ids first, the ones most often changed alone. More
 * supplementary groups than GROUPS_READ count as a difference, which
 * costs only the full comparison. */
#define GROUPS_READ	32
static bool cred_is_current(const struct ua_cred *c)
{
	struct __user_cap_data_struct caps[2];
	gid_t groups[GROUPS_READ];
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int n;

	if ((uid_t) syscall(SYS_setfsuid, -1) != c->fsuid ||
	    (gid_t) syscall(SYS_setfsgid, -1) != c->fsgid)
		return false;
	if (syscall(SYS_getresuid, &r, &e, &s) || r != c->ruid ||
	    e != c->euid)
		return false;
	if (syscall(SYS_getresgid, &rg, &eg, &sg) || rg != c->rgid ||
	    eg != c->egid)
		return false;
	if (cap_rw(SYS_capget, caps) ||
	    caps[0].effective != c->caps[0].effective ||
	    caps[1].effective != c->caps[1].effective)
		return false;
	n = (int) syscall(SYS_getgroups, GROUPS_READ, groups);
	return n == c->ngroups &&
	       !memcmp(groups, c->groups, (size_t) n * sizeof(gid_t));
}

/*
 * Gives the calling thread want's credentials, if it lacks them, until
 * ua_personality_end; *saved as there.
 */
static int cred_begin(const struct ua_cred *want, struct ua_cred **saved)
{
	struct ua_cred *own, *now;
	int ret = 0;

	*saved = NULL;
	if (cred_is_current(want))
		return 0;
	own = cred_current();
	if (!own)
		return -ENOMEM;
	if (cred_equal(want, own)) {
		cred_put(own);
		return 0;
	}
	cred_apply(want, own);
	now = cred_current();
	if (!now || !cred_equal(want, now)) {
		cred_restore(own);
		cred_put(own);
		ret = now ? -EPERM : -ENOMEM;
	} else {
		*saved = own;
	}
	cred_put(now);
	return ret;
}

int ua_personality_begin(struct ua_ctx *ctx, unsigned id,
			 struct ua_cred **saved)
{
	struct ua_cred *want = cred_get(ctx, id);
	int ret;

	*saved = NULL;
	if (!want)
		return -EINVAL;
	ret = cred_begin(want, saved);
	cred_put(want);
	return ret;
}

/*
 * The credentials of the process's threads as the first thread to hand
 * work to a worker had them. A request handed over by a thread that has
 * them carries none (the common case: one comparison, no allocation);
 * one from a thread that has others (setfsuid(), a per-thread change of
 * ids or capabilities) carries its own.
 */
static struct ua_cred *usual;
static pthread_once_t usual_taken = PTHREAD_ONCE_INIT;

static void take_usual(void)
{
	usual = cred_current();
}

int ua_cred_of_submitter(struct ua_cred **out)
{
	pthread_once(&usual_taken, take_usual);
	*out = NULL;
	if (usual && cred_is_current(usual))
		return 0;
	*out = cred_current();
	return *out ? 0 : -ENOMEM;
}

struct ua_cred *ua_cred_hold(struct ua_cred *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void ua_cred_drop(struct ua_cred *c)
{
	cred_put(c);
}

/*
 * A worker found to have the usual credentials keeps them but while it
 * runs with others (ua_personality_end forgets it) and until its next
 * stretch of a ring's work (ua_cred_recheck), which looks again: glibc's
 * calls change every thread's, the workers' too. It saves the reading of
 * its credentials for each request.
 */
static __thread bool has_usual;

void ua_cred_recheck(void)
{
	has_usual = false;
}

/* c NULL: the usual ones, which a submitter had. */
int ua_cred_begin(const struct ua_cred *c, struct ua_cred **saved)
{
	int ret;

	*saved = NULL;
	if (!c && has_usual)
		return 0;
	ret = cred_begin(c ? c : usual, saved);
	if (!c && !ret && !*saved)
		has_usual = true;
	return ret;
}

void ua_personality_end(struct ua_cred *saved)
{
	if (!saved)
		return;
	has_usual = false;
	cred_restore(saved);
	cred_put(saved);
}
