/* SPDX-License-Identifier: MIT */
/*
 * Creating, mapping and tearing down a ring: the user side, which reaches
 * the engine only through io_uring_setup() and io_uring_register().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "liburing.h"
#include "ua_private.h"

static void *map_ring(int fd, size_t size, __u64 offset)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, (off_t) offset);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_rings(struct io_uring *ring)
{
	if (ring->sq.ring_ptr)
		munmap(ring->sq.ring_ptr, ring->sq.ring_sz);
	if (ring->cq.ring_ptr && ring->cq.ring_ptr != ring->sq.ring_ptr)
		munmap(ring->cq.ring_ptr, ring->cq.ring_sz);
	if (ring->sq.sqes)
		munmap(ring->sq.sqes, ring->sq.ring_entries *
				      sizeof(struct io_uring_sqe));
}

static void point_sq(struct io_uring_sq *sq, const struct io_sqring_offsets *o)
{
	char *base = sq->ring_ptr;

	sq->khead = (unsigned *) (base + o->head);
	sq->ktail = (unsigned *) (base + o->tail);
	sq->kring_mask = (unsigned *) (base + o->ring_mask);
	sq->kring_entries = (unsigned *) (base + o->ring_entries);
	sq->kflags = (unsigned *) (base + o->flags);
	sq->kdropped = (unsigned *) (base + o->dropped);
	sq->array = (unsigned *) (base + o->array);
	sq->ring_mask = *sq->kring_mask;
	sq->ring_entries = *sq->kring_entries;
}

static void point_cq(struct io_uring_cq *cq, const struct io_cqring_offsets *o)
{
	char *base = cq->ring_ptr;

	cq->khead = (unsigned *) (base + o->head);
	cq->ktail = (unsigned *) (base + o->tail);
	cq->kring_mask = (unsigned *) (base + o->ring_mask);
	cq->kring_entries = (unsigned *) (base + o->ring_entries);
	cq->koverflow = (unsigned *) (base + o->overflow);
	cq->kflags = o->flags ? (unsigned *) (base + o->flags) : NULL;
	cq->cqes = (struct io_uring_cqe *) (base + o->cqes);
	cq->ring_mask = *cq->kring_mask;
	cq->ring_entries = *cq->kring_entries;
}

/* Slot i of the SQ array always names SQE i, so submitting needs only a
 * tail store (see flush_sq in queue.c). */
static void identity_sq_array(struct io_uring *ring,
			      const struct io_uring_params *p)
{
	unsigned i;

	if (p->flags & IORING_SETUP_NO_SQARRAY)
		return;
	for (i = 0; i < ring->sq.ring_entries; i++)
		ring->sq.array[i] = i;
}

/* Maps the rings of a descriptor from io_uring_setup(), as a kernel ring. */
UA_PUBLIC int io_uring_queue_mmap(int fd, struct io_uring_params *p,
				  struct io_uring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->sq.ring_sz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	ring->cq.ring_sz = p->cq_off.cqes +
			   p->cq_entries * sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP) {
		if (ring->cq.ring_sz > ring->sq.ring_sz)
			ring->sq.ring_sz = ring->cq.ring_sz;
		ring->cq.ring_sz = ring->sq.ring_sz;
	}
	ring->sq.ring_ptr = map_ring(fd, ring->sq.ring_sz, IORING_OFF_SQ_RING);
	if (!ring->sq.ring_ptr)
		return -errno;
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		ring->cq.ring_ptr = ring->sq.ring_ptr;
	else
		ring->cq.ring_ptr = map_ring(fd, ring->cq.ring_sz,
					     IORING_OFF_CQ_RING);
	ring->sq.sqes = map_ring(fd, p->sq_entries * sizeof(struct io_uring_sqe),
				 IORING_OFF_SQES);
	if (!ring->cq.ring_ptr || !ring->sq.sqes) {
		int err = -errno;

		ring->sq.ring_entries = p->sq_entries;
		unmap_rings(ring);
		memset(ring, 0, sizeof(*ring));
		return err;
	}
	point_sq(&ring->sq, &p->sq_off);
	point_cq(&ring->cq, &p->cq_off);
	identity_sq_array(ring, p);
	ring->flags = p->flags;
	ring->ring_fd = ring->enter_ring_fd = fd;
	ring->features = p->features;
	return 0;
}

UA_PUBLIC int io_uring_queue_init_params(unsigned entries,
					 struct io_uring *ring,
					 struct io_uring_params *p)
{
	int fd, ret;

	fd = io_uring_setup(entries, p);
	if (fd < 0)
		return fd;
	ret = io_uring_queue_mmap(fd, p, ring);
	if (ret) {
		io_uring_register(fd, UA_REGISTER_RELEASE_RING, NULL, 0);
		close(fd);
	}
	return ret;
}

UA_PUBLIC int io_uring_queue_init(unsigned entries, struct io_uring *ring,
				  unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_queue_init_params(entries, ring, &p);
}

UA_PUBLIC void io_uring_queue_exit(struct io_uring *ring)
{
	unmap_rings(ring);
	/* A kernel ring dies with its last reference; ours needs telling. */
	io_uring_register(ring->ring_fd, UA_REGISTER_RELEASE_RING, NULL, 0);
	close(ring->ring_fd);
}

UA_PUBLIC struct io_uring_probe *io_uring_get_probe_ring(struct io_uring *ring)
{
	const unsigned nr_ops = 256;
	struct io_uring_probe *probe;

	probe = calloc(1, sizeof(*probe) + nr_ops * sizeof(probe->ops[0]));
	if (!probe)
		return NULL;
	if (io_uring_register_probe(ring, probe, nr_ops) < 0) {
		free(probe);
		return NULL;
	}
	return probe;
}

UA_PUBLIC struct io_uring_probe *io_uring_get_probe(void)
{
	struct io_uring_probe *probe;
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return NULL;
	probe = io_uring_get_probe_ring(&ring);
	io_uring_queue_exit(&ring);
	return probe;
}

UA_PUBLIC void io_uring_free_probe(struct io_uring_probe *probe)
{
	free(probe);
}
