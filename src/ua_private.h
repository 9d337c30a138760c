/* SPDX-License-Identifier: MIT */
#ifndef UA_PRIVATE_H
#define UA_PRIVATE_H

/*
 * What the user side and the engine share beyond the kernel ABI: one
 * io_uring_register() opcode, outside the kernel's numbering, that tells the
 * engine the application is done with a ring (io_uring_queue_exit sends it
 * just before closing the descriptor). A kernel answers it with -EINVAL.
 */
#define UA_REGISTER_RELEASE_RING	0x55410001u

/* Marks the definitions of the library's public functions; the library is
 * built with -fvisibility=hidden and the version script lists the API. */
#define UA_PUBLIC __attribute__((visibility("default")))

#endif
