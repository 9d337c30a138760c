/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_LIST_H
#define UA_ENGINE_LIST_H

/* The engine's request lists (link.c, cq.c, cancellation...). */

#include "engine/req.h"

/* A FIFO of requests through ->next. */
struct ua_req_list {
	struct ua_req	*head, **tail;
};

static inline void ua_list_init(struct ua_req_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static inline void ua_list_add(struct ua_req_list *l, struct ua_req *req)
{
	req->next = NULL;
	*l->tail = req;
	l->tail = &req->next;
}

static inline struct ua_req *ua_list_pop(struct ua_req_list *l)
{
	struct ua_req *req = l->head;

	if (req) {
		l->head = req->next;
		if (!l->head)
			l->tail = &l->head;
	}
	return req;
}

#endif
