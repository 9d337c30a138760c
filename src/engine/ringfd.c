/* SPDX-License-Identifier: MIT */
/*
 * The per-thread tables of registered rings. Only the owning thread reads
 * or writes its table, so no lock is needed; the table lives on the heap
 * and a thread-specific key drops its references when the thread exits,
 * as the kernel drops a task's registered rings. A fork() child starts
 * without a table: the kernel's child task has no io_uring context.
 */
#include <pthread.h>
#include <stdlib.h>
#include "liburing/io_uring.h"
#include "engine/ringfd.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"

_Thread_local struct ua_ringfd_table *ua_ringfd_current UA_TLS_IE;

static pthread_key_t table_key;
static pthread_once_t table_key_once = PTHREAD_ONCE_INIT;

static void table_free(void *arg)
{
	struct ua_ringfd_table *t = arg;
	unsigned i;

	for (i = 0; i < UA_RINGFD_REG_MAX; i++)
		if (t->rings[i])
			ua_ctx_put_ref(t->rings[i]);
	free(t);
}

/* The parent's table is its own: the child's copy is left unused, and
 * its references are the parent's to drop. */
static void forget_table_in_child(void)
{
	ua_ringfd_current = NULL;
	pthread_setspecific(table_key, NULL);
}

static void table_key_create(void)
{
	pthread_key_create(&table_key, table_free);
	pthread_atfork(NULL, NULL, forget_table_in_child);
}

int ua_ringfd_task_init(void)
{
	struct ua_ringfd_table *t;

	if (ua_ringfd_current)
		return 0;
	pthread_once(&table_key_once, table_key_create);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (pthread_setspecific(table_key, t)) {
		free(t);
		return -ENOMEM;
	}
	ua_ringfd_current = t;
	return 0;
}

/* The first free entry in [start, end) takes the ring fd names. */
static int add_ring(struct ua_ringfd_table *t, int fd, unsigned start,
		    unsigned end)
{
	struct ua_ctx *ctx;
	unsigned i;
	int err;

	ctx = ua_ctx_get_counted(fd, &err);
	if (!ctx)
		return err;
	for (i = start; i < end; i++) {
		if (!t->rings[i]) {
			t->rings[i] = ctx;
			return (int) i;
		}
	}
	ua_ctx_put_ref(ctx);
	return -EBUSY;
}

/* IORING_SETUP_REGISTERED_FD_ONLY: the ring fd names, at the first free
 * entry of the calling thread's table (which setup gave it): its index,
 * or -EBUSY with the table full. */
int ua_ringfd_add(int fd)
{
	return add_ring(ua_ringfd_current, fd, 0, UA_RINGFD_REG_MAX);
}

static void drop_ring(struct ua_ringfd_table *t, unsigned idx)
{
	struct ua_ctx *ctx = t->rings[idx];

	t->rings[idx] = NULL;
	if (ctx)
		ua_ctx_put_ref(ctx);
}

/*
 * An array of nr_args io_uring_rsrc_update: data is a ring descriptor,
 * offset the index wanted or -1U for any free one, and receives the index
 * taken. Like the kernel, the count of entries done, else the error of the
 * first.
 */
int ua_ringfd_register(const void *arg, unsigned nr_args)
{
	__u64 uarg = (__u64) (uintptr_t) arg;
	struct io_uring_rsrc_update reg;
	struct ua_ringfd_table *t;
	unsigned i, start, end;
	int ret;

	if (!nr_args || nr_args > UA_RINGFD_REG_MAX)
		return -EINVAL;
	ret = ua_ringfd_task_init();
	if (ret)
		return ret;
	t = ua_ringfd_current;
	for (i = 0; i < nr_args; i++, uarg += sizeof(reg)) {
		if (ua_copy_from_user(&reg, uarg, sizeof(reg))) {
			ret = -EFAULT;
			break;
		}
		if (reg.resv) {
			ret = -EINVAL;
			break;
		}
		if (reg.offset == -1U) {
			start = 0;
			end = UA_RINGFD_REG_MAX;
		} else if (reg.offset < UA_RINGFD_REG_MAX) {
			start = reg.offset;
			end = start + 1;
		} else {
			ret = -EINVAL;
			break;
		}
		ret = add_ring(t, (int) (unsigned) reg.data, start, end);
		if (ret < 0)
			break;
		reg.offset = (__u32) ret;
		if (ua_copy_to_user(uarg, &reg, sizeof(reg))) {
			drop_ring(t, reg.offset);
			ret = -EFAULT;
			break;
		}
	}
	return i ? (int) i : ret;
}

/* Entries name an index in offset; data and resv must be 0. */
int ua_ringfd_unregister(const void *arg, unsigned nr_args)
{
	__u64 uarg = (__u64) (uintptr_t) arg;
	struct ua_ringfd_table *t = ua_ringfd_current;
	struct io_uring_rsrc_update reg;
	unsigned i;
	int ret = 0;

	if (!nr_args || nr_args > UA_RINGFD_REG_MAX)
		return -EINVAL;
	if (!t)
		return 0;
	for (i = 0; i < nr_args; i++, uarg += sizeof(reg)) {
		if (ua_copy_from_user(&reg, uarg, sizeof(reg))) {
			ret = -EFAULT;
			break;
		}
		if (reg.resv || reg.data || reg.offset >= UA_RINGFD_REG_MAX) {
			ret = -EINVAL;
			break;
		}
		drop_ring(t, reg.offset);
	}
	return i ? (int) i : ret;
}
