/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_MSG_RING_H
#define UA_ENGINE_MSG_RING_H

/* msg_ring.c: io_uring_register() on descriptor -1 */
int ua_register_blind(unsigned opcode, const void *arg, unsigned nr_args);

#endif
