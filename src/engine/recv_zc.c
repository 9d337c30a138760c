/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include "engine/recv_zc.h"

/*
 * RECV_ZC receives into the zero-copy queue of the interface queue
 * sqe->zcrx_ifq_idx names, registered with IORING_REGISTER_ZCRX_IFQ. That
 * registration is refused (a userspace engine cannot take over a NIC's
 * receive queue), so no index ever names one, and the request fails at
 * prep with -EINVAL, whatever else it asks, as the kernel fails it on a
 * ring with no such queue. The kernel's probe lists the operation; so does
 * ours, since it has a prep.
 */
int ua_recv_zc_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	(void) req;
	(void) sqe;
	return -EINVAL;
}
