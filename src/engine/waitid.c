/* SPDX-License-Identifier: MIT */
/*
 * WAITID: waitid(2) for the application's children.
 *
 * The state change is first looked for inline, with WNOHANG. When there is
 * none and the application did not ask for WNOHANG, the request waits in a
 * worker of the unbounded class (a child may never change state), blocked
 * in waitid(2) itself. The process has no descriptor that announces every
 * child's change (a pidfd announces one child's exit only), so the wait
 * holds that worker; a cancellation or the ring's teardown interrupts the
 * call as any other worker's (-ECANCELED).
 *
 * What reaches the application's siginfo_t is what the kernel writes there
 * (signo, errno, code, pid, uid, status; zeroes when nothing changed or the
 * call failed), written when the request completes: -EFAULT if it cannot
 * be, after the child was reaped, as in the kernel.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include "engine/req.h"
#include "engine/uaccess.h"
#include "engine/waitid.h"

struct ua_waitid {
	__u64		infop;		/* the application's siginfo_t, or 0 */
	int		which;		/* idtype_t */
	int		id;
	int		options;
};
#define waitid_of(req)	ua_cmd(req, struct ua_waitid)

int ua_waitid_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_waitid *w = waitid_of(req);

	w->which = (int) sqe->len;
	w->id = sqe->fd;
	w->options = (int) sqe->file_index;
	w->infop = sqe->addr2;
	/* A wait in a worker may last forever: the unbounded class, whether
	 * it gets there from the inline look or by IOSQE_ASYNC. */
	req->file_kind = UA_FILE_STREAM;
	return 0;
}

/* The fields of *si waitid(2) reports, into the application's siginfo_t. */
static int report_info(const struct ua_waitid *w, const siginfo_t *si)
{
	const int head[3] = { si->si_signo, si->si_errno, si->si_code };
	const int chld[3] = { si->si_pid, (int) si->si_uid, si->si_status };

	if (!w->infop)
		return 0;
	if (ua_copy_to_user(w->infop, head, sizeof(head)) ||
	    ua_copy_to_user(w->infop + offsetof(siginfo_t, si_pid), chld,
			    sizeof(chld)))
		return -EFAULT;
	return 0;
}

static int done(struct ua_req *req, int ret)
{
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* A worker's wait: interrupted only by a cancellation or teardown (every
 * other signal is blocked on workers). */
static int wait_blocking(struct ua_req *req)
{
	struct ua_waitid *w = waitid_of(req);

	if (waitid((idtype_t) w->which, (id_t) w->id,
		   (siginfo_t *) (uintptr_t) w->infop, w->options) == 0)
		return done(req, 0);
	return done(req, errno == EINTR ? -ECANCELED : -errno);
}

int ua_waitid(struct ua_req *req, unsigned issue_flags)
{
	struct ua_waitid *w = waitid_of(req);
	siginfo_t si;
	int ret;

	if (!(issue_flags & UA_ISSUE_NONBLOCK))
		return wait_blocking(req);
	memset(&si, 0, sizeof(si));
	ret = waitid((idtype_t) w->which, (id_t) w->id, &si,
		     w->options | WNOHANG) ? -errno : 0;
	if (!ret && !si.si_pid && !(w->options & WNOHANG))
		return UA_PUNT;
	if (report_info(w, &si))
		ret = -EFAULT;
	return done(req, ret);
}
