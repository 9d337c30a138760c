/* SPDX-License-Identifier: MIT */
/*
 * IORING_REGISTER_QUERY: a chain of queries, each answered in its header's
 * result and size with the kernel's rules (io_uring/query.c). The engine
 * answers IO_URING_QUERY_OPCODES with what it implements; the others are
 * -EOPNOTSUPP, as on a kernel without them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "liburing/io_uring.h"
#include "liburing/io_uring/query.h"
#include "engine/opdef.h"
#include "engine/query.h"
#include "engine/uaccess.h"

#define NR_QUERY_OPCODES	(IO_URING_QUERY_OPCODES + 1)
/* The largest answer; a longer buffer is zero-filled past it. */
#define MAX_QUERY_SIZE		sizeof(struct io_uring_query_opcode)
/* A chain this long is taken for a loop. */
#define MAX_QUERY_ENTRIES	1000
/* The kernel's IORING_REGISTER_LAST (6.18). */
#define NR_REGISTER_OPCODES	36u

static void answer_opcodes(struct io_uring_query_opcode *e,
			   const struct ua_query_answers *a)
{
	e->nr_request_opcodes = UA_OP_LAST;
	e->nr_register_opcodes = NR_REGISTER_OPCODES;
	e->feature_flags = a->features;
	e->ring_setup_flags = a->setup_flags;
	e->enter_flags = a->enter_flags;
	e->sqe_flags = a->sqe_flags;
	e->nr_query_opcodes = NR_QUERY_OPCODES;
	e->__pad = 0;
}

static bool reserved_clear(const struct io_uring_query_hdr *hdr)
{
	return !hdr->__resv[0] && !hdr->__resv[1] && !hdr->__resv[2];
}

/* The answer's size, or a negative error for the header's result. */
static int answer(struct io_uring_query_hdr *hdr,
		  struct io_uring_query_opcode *data,
		  const struct ua_query_answers *a, bool *fault)
{
	size_t size = hdr->size < MAX_QUERY_SIZE ? hdr->size : MAX_QUERY_SIZE;

	if (hdr->query_op >= NR_QUERY_OPCODES)
		return -EOPNOTSUPP;
	if (!reserved_clear(hdr) || hdr->result || !size)
		return -EINVAL;
	*fault = ua_copy_from_user(data, hdr->query_data, size) != 0;
	answer_opcodes(data, a);
	return (int) sizeof(*data);
}

/* The answer, then zeros up to the buffer's size. */
static int write_answer(__u64 udata, size_t usize, const void *data,
			size_t size)
{
	static const char zeros[64];

	if (size && ua_copy_to_user(udata, data, size))
		return -EFAULT;
	for (size_t off = size; off < usize; off += sizeof(zeros)) {
		size_t n = usize - off < sizeof(zeros) ? usize - off :
			   sizeof(zeros);

		if (ua_copy_to_user(udata + off, zeros, n))
			return -EFAULT;
	}
	return 0;
}

static int query_entry(__u64 uhdr, struct io_uring_query_opcode *data,
		       const struct ua_query_answers *a, __u64 *next)
{
	struct io_uring_query_hdr hdr;
	size_t usize, size = 0;
	bool fault = false;
	int ret;

	if (ua_copy_from_user(&hdr, uhdr, sizeof(hdr)))
		return -EFAULT;
	usize = hdr.size;
	ret = answer(&hdr, data, a, &fault);
	if (fault)
		return -EFAULT;
	if (ret >= 0) {
		size = (size_t) ret;
		ret = 0;
	}
	hdr.result = ret;
	hdr.size = (__u32) (usize < size ? usize : size);
	if (write_answer(hdr.query_data, usize, data, hdr.size) ||
	    ua_copy_to_user(uhdr, &hdr, sizeof(hdr)))
		return -EFAULT;
	*next = hdr.next_entry;
	return 0;
}

int ua_query(const void *arg, unsigned nr_args,
	     const struct ua_query_answers *answers)
{
	struct io_uring_query_opcode data;
	__u64 uhdr = (__u64) (uintptr_t) arg;
	unsigned nr = 0;

	memset(&data, 0, sizeof(data));
	if (nr_args)
		return -EINVAL;
	while (uhdr) {
		int ret = query_entry(uhdr, &data, answers, &uhdr);

		if (ret)
			return ret;
		if (++nr >= MAX_QUERY_ENTRIES)
			return -ERANGE;
	}
	return 0;
}
