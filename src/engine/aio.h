/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_AIO_H
#define UA_ENGINE_AIO_H

#include <stdbool.h>
#include <linux/types.h>
#include "engine/filemap.h"

struct ua_ctx;
struct ua_req;
struct ua_completion_batch;

#define UA_AIO_BATCH		32
#define UA_AIO_FD_BITS		4096	/* fds tracked for "went async" */

/*
 * Positional reads and writes collected during one submission and issued
 * with one io_submit() (aio.c). Submitter-only, under uring_lock.
 */
struct ua_aio_batch {
	bool			high_fds_async;	/* an fd >= UA_AIO_FD_BITS went async */
	unsigned		nr;
	struct ua_req		*reqs[UA_AIO_BATCH];
	/* Descriptors whose batched I/O did not complete in io_submit()
	 * (O_DIRECT): they take the preadv2 path from then on. A stale bit
	 * after the number is reused only costs speed, never correctness. */
	unsigned long		async_fds[UA_AIO_FD_BITS / (8 * sizeof(long))];
	/* Descriptors whose batched I/O did complete in io_submit(): their
	 * batches may instead be made one preadv2/pwritev2 at a time when
	 * that has cost less. A stale bit after the number is reused for an
	 * O_DIRECT file only costs speed (one transfer at a time). */
	unsigned long		buffered_fds[UA_AIO_FD_BITS / (8 * sizeof(long))];
	/* Transfers on those descriptors, sent to the device together at
	 * the next flush and reaped by the process's AIO reaper. */
	unsigned		nr_device;
	struct ua_req		*device_reqs[UA_AIO_BATCH];
	unsigned		device_inflight;	/* under the reaper's lock */
	/* Reads copied out of maps of their files, when that costs less. */
	struct ua_filemaps	maps;
};

/* aio.c: batching positional transfers into one io_submit() */
bool ua_aio_add(struct ua_ctx *ctx, struct ua_req *req,
		struct ua_completion_batch *batch);
void ua_aio_flush(struct ua_ctx *ctx, struct ua_completion_batch *batch);
void ua_aio_set_refused(bool refused);

/* How a batch of transfers on buffered files is made: by what each way has
 * cost per transfer in this process (UA_AIO_MEASURED), or always one way
 * (tests). */
enum ua_aio_way { UA_AIO_SUBMIT, UA_AIO_ALONE, UA_AIO_MAPPED, UA_AIO_NR_WAYS };
#define UA_AIO_MEASURED	UA_AIO_NR_WAYS
void ua_aio_force_way(unsigned way);
enum ua_aio_way ua_aio_pick_way(unsigned nr, unsigned ways, bool *timed);
void ua_aio_note_cost(unsigned nr, enum ua_aio_way way, __u64 ns);
void ua_aio_forget_costs(void);
unsigned ua_aio_nr_contexts(void);
void ua_aio_forget_contexts(void);
void ua_aio_wait_device(struct ua_ctx *ctx);
void ua_aio_reap_ready(struct ua_ctx *ctx);
struct timespec;
int ua_aio_wait_events(struct ua_ctx *ctx, const struct timespec *deadline);

#endif
