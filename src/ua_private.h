/* SPDX-License-Identifier: MIT */
#ifndef UA_PRIVATE_H
#define UA_PRIVATE_H

#include <linux/types.h>

/*
 * What the user side and the engine share beyond the kernel ABI: one
 * io_uring_register() opcode, outside the kernel's numbering, that tells the
 * engine the application is done with a ring (io_uring_queue_exit sends it
 * just before closing the descriptor). A kernel answers it with -EINVAL.
 */
#define UA_REGISTER_RELEASE_RING	0x55410001u

/*
 * And one that tells it the application is about to close the descriptor
 * of a ring it keeps reaching through a registered index
 * (io_uring_close_ring_fd): the number then names the ring no more.
 */
#define UA_REGISTER_DETACH_FD		0x55410002u

/*
 * io_uring_queue_init() and its kin set up a ring whose descriptor polls
 * as the kernel's does (readable while CQEs are ready): they mark the
 * parameters' last reserved word with this value, which the engine clears
 * again. The rings then map from another descriptor of the engine's, which
 * the second opcode returns (the caller must not close it).
 */
#define UA_SETUP_RESV_POLL_FD		0x55415046u
#define UA_REGISTER_MAP_FD		0x55410010u

/*
 * Such a ring's user side points into the engine's own maps of the rings
 * rather than map them a second time: this opcode writes where they are
 * (arg: struct ua_user_maps) and the engine unmaps them at the ring's
 * teardown, after UA_REGISTER_RELEASE_RING.
 */
#define UA_REGISTER_RING_MAPS		0x55410011u

struct ua_user_maps {
	__u64	sq_ring, cq_ring, sqes;
	__u64	sq_ring_sz, cq_ring_sz, sqes_sz;
};

/* Marks the definitions of the library's public functions; the library is
 * built with -fvisibility=hidden and the version script lists the API. */
#define UA_PUBLIC __attribute__((visibility("default")))

#endif
