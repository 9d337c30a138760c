/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RINGPOLL_H
#define UA_ENGINE_RINGPOLL_H

#include <stdbool.h>

/* ringpoll.c: whether the process's poll() and mmap() are ours */
bool ua_ring_fronts_reached(void);

#endif
