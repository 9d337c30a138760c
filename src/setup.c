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
#include "ring_sizes.h"
#include "ua_ring.h"

/* The head, tail, masks and flags before the CQEs of a NO_MMAP ring. */
#define RING_HEADER_SIZE	64
#define HUGE_PAGE_SIZE		(2u * 1024 * 1024)

static size_t page_size(void)
{
	return (size_t) sysconf(_SC_PAGESIZE);
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

static size_t sqes_size(const struct io_uring_params *p, unsigned entries)
{
	return ((size_t) entries << io_uring_sqe_shift_from_flags(p->flags)) *
	       sizeof(struct io_uring_sqe);
}

static size_t cqes_size(const struct io_uring_params *p, unsigned entries)
{
	return ((size_t) entries << io_uring_cqe_shift_from_flags(p->flags)) *
	       sizeof(struct io_uring_cqe);
}

static void *map_ring(int fd, size_t size, __u64 offset)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, (off_t) offset);

	return p == MAP_FAILED ? NULL : p;
}

/* A zero size is memory the application owns, or shares with another. */
static void unmap_rings(struct io_uring_sq *sq, struct io_uring_cq *cq)
{
	if (sq->ring_ptr && sq->ring_sz)
		munmap(sq->ring_ptr, sq->ring_sz);
	if (cq->ring_ptr && cq->ring_sz && cq->ring_ptr != sq->ring_ptr)
		munmap(cq->ring_ptr, cq->ring_sz);
	if (sq->sqes && sq->sqes_sz)
		munmap(sq->sqes, sq->sqes_sz);
}

static void point_rings(const struct io_uring_params *p,
			struct io_uring_sq *sq, struct io_uring_cq *cq)
{
	char *sb = sq->ring_ptr, *cb = cq->ring_ptr;
	const struct io_sqring_offsets *so = &p->sq_off;
	const struct io_cqring_offsets *co = &p->cq_off;

	sq->khead = (unsigned *) (sb + so->head);
	sq->ktail = (unsigned *) (sb + so->tail);
	sq->kring_mask = (unsigned *) (sb + so->ring_mask);
	sq->kring_entries = (unsigned *) (sb + so->ring_entries);
	sq->kflags = (unsigned *) (sb + so->flags);
	sq->kdropped = (unsigned *) (sb + so->dropped);
	if (!(p->flags & IORING_SETUP_NO_SQARRAY))
		sq->array = (unsigned *) (sb + so->array);
	sq->ring_mask = *sq->kring_mask;
	sq->ring_entries = *sq->kring_entries;

	cq->khead = (unsigned *) (cb + co->head);
	cq->ktail = (unsigned *) (cb + co->tail);
	cq->kring_mask = (unsigned *) (cb + co->ring_mask);
	cq->kring_entries = (unsigned *) (cb + co->ring_entries);
	cq->koverflow = (unsigned *) (cb + co->overflow);
	cq->kflags = co->flags ? (unsigned *) (cb + co->flags) : NULL;
	cq->cqes = (struct io_uring_cqe *) (cb + co->cqes);
	cq->ring_mask = *cq->kring_mask;
	cq->ring_entries = *cq->kring_entries;
}

/* Maps the three regions of a ring descriptor, as of a kernel ring. */
static int mmap_rings(int fd, const struct io_uring_params *p,
		      struct io_uring_sq *sq, struct io_uring_cq *cq)
{
	int err;

	sq->ring_sz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	cq->ring_sz = p->cq_off.cqes + cqes_size(p, p->cq_entries);
	if (p->features & IORING_FEAT_SINGLE_MMAP) {
		if (cq->ring_sz > sq->ring_sz)
			sq->ring_sz = cq->ring_sz;
		cq->ring_sz = sq->ring_sz;
	}
	sq->ring_ptr = map_ring(fd, sq->ring_sz, IORING_OFF_SQ_RING);
	if (!sq->ring_ptr)
		return -errno;
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		cq->ring_ptr = sq->ring_ptr;
	else
		cq->ring_ptr = map_ring(fd, cq->ring_sz, IORING_OFF_CQ_RING);
	sq->sqes_sz = (unsigned) sqes_size(p, p->sq_entries);
	sq->sqes = map_ring(fd, sq->sqes_sz, IORING_OFF_SQES);
	if (!cq->ring_ptr || !sq->sqes) {
		err = -errno;
		unmap_rings(sq, cq);
		return err;
	}
	point_rings(p, sq, cq);
	return 0;
}

/* Slot i of the SQ array always names SQE i, so submitting needs only a
 * tail store (see flush_sq in queue.c). */
static void identity_sq_array(struct io_uring *ring, unsigned flags)
{
	unsigned i;

	if (flags & IORING_SETUP_NO_SQARRAY)
		return;
	for (i = 0; i < ring->sq.ring_entries; i++)
		ring->sq.array[i] = i;
}

/*
 * A ring this library set up points into the engine's own maps of the
 * rings (UA_REGISTER_RING_MAPS), which the engine unmaps at the ring's
 * teardown: mapping them again would double the address space a ring
 * takes. Pages are touched as they are used, as the engine's are.
 */
static int point_into_engine_maps(int fd, const struct io_uring_params *p,
				  struct io_uring *ring)
{
	struct ua_user_maps m;
	int ret = io_uring_register((unsigned) fd, UA_REGISTER_RING_MAPS, &m, 1);

	if (ret < 0)
		return ret;
	memset(ring, 0, sizeof(*ring));
	ring->sq.ring_ptr = (void *) (uintptr_t) m.sq_ring;
	ring->sq.ring_sz = m.sq_ring_sz;
	ring->cq.ring_ptr = (void *) (uintptr_t) m.cq_ring;
	ring->cq.ring_sz = m.cq_ring_sz;
	ring->sq.sqes = (void *) (uintptr_t) m.sqes;
	ring->sq.sqes_sz = (unsigned) m.sqes_sz;
	point_rings(p, &ring->sq, &ring->cq);
	identity_sq_array(ring, p->flags);
	ring->int_flags = UA_INT_FLAG_ENGINE_MAPS;
	return 0;
}

/* Maps the rings of a descriptor from io_uring_setup(), as a kernel ring. */
UA_PUBLIC int io_uring_queue_mmap(int fd, struct io_uring_params *p,
				  struct io_uring *ring)
{
	int ret;

	memset(ring, 0, sizeof(*ring));
	ret = mmap_rings(fd, p, &ring->sq, &ring->cq);
	if (ret) {
		memset(ring, 0, sizeof(*ring));
		return ret;
	}
	identity_sq_array(ring, p->flags);
	ring->flags = p->flags;
	ring->ring_fd = ring->enter_ring_fd = fd;
	ring->features = p->features;
	return 0;
}

/* An anonymous shared mapping, a huge page when one page is too small. */
static void *map_anon(size_t need, size_t *size)
{
	int huge = 0;
	void *p;

	*size = page_size();
	if (need > *size) {
		*size = HUGE_PAGE_SIZE;
		huge = MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	}
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | huge, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * IORING_SETUP_NO_MMAP: the application's memory holds the SQEs, then the
 * rings (buf, or fresh mappings). Returns the bytes used, or -errno.
 */
static int alloc_app_rings(unsigned entries, struct io_uring_params *p,
			   struct io_uring_sq *sq, struct io_uring_cq *cq,
			   void *buf, size_t buf_size)
{
	size_t sqes_mem, ring_mem, used, size;
	unsigned nsq, ncq;
	int ret = ua_ring_sizes(entries, p, &nsq, &ncq);

	if (ret)
		return ret;
	sqes_mem = round_up(sqes_size(p, nsq), page_size());
	ring_mem = RING_HEADER_SIZE + cqes_size(p, ncq);
	if (!(p->flags & IORING_SETUP_NO_SQARRAY))
		ring_mem += nsq * sizeof(unsigned);
	used = round_up(sqes_mem + ring_mem, page_size());
	if (used > INT32_MAX)
		return -ENOMEM;
	if (buf) {
		if (used > buf_size)
			return -ENOMEM;
		sq->sqes = buf;
		sq->ring_ptr = (char *) buf + sqes_mem;
	} else {
		if (sqes_mem > HUGE_PAGE_SIZE || ring_mem > HUGE_PAGE_SIZE)
			return -ENOMEM;
		sq->sqes = map_anon(sqes_mem, &size);
		if (!sq->sqes)
			return -errno;
		sq->sqes_sz = (unsigned) size;
		if (used <= size) {
			sq->ring_ptr = (char *) sq->sqes + sqes_mem;
		} else {
			sq->ring_ptr = map_anon(ring_mem, &size);
			if (!sq->ring_ptr) {
				ret = -errno;
				munmap(sq->sqes, sq->sqes_sz);
				return ret;
			}
			sq->ring_sz = size;
		}
	}
	cq->ring_ptr = sq->ring_ptr;
	p->sq_off.user_addr = (__u64) (uintptr_t) sq->sqes;
	p->cq_off.user_addr = (__u64) (uintptr_t) sq->ring_ptr;
	return (int) used;
}

/* How the library drives a ring it set up. */
static void adopt_ring(struct io_uring *ring, int fd,
		       const struct io_uring_params *p)
{
	if (p->flags & IORING_SETUP_NO_MMAP)
		identity_sq_array(ring, p->flags);
	ring->features = p->features;
	ring->flags = p->flags;
	ring->enter_ring_fd = fd;
	if (p->flags & IORING_SETUP_REGISTERED_FD_ONLY) {
		/* fd is an index of the calling thread's registered rings */
		ring->ring_fd = -1;
		ring->int_flags |= UA_INT_FLAG_REG_RING |
				   UA_INT_FLAG_REG_REG_RING;
	} else {
		ring->ring_fd = fd;
	}
	/* IOPOLL completions are reaped by enters, unless SQPOLL does it. */
	if ((p->flags & (IORING_SETUP_IOPOLL | IORING_SETUP_SQPOLL)) ==
	    IORING_SETUP_IOPOLL)
		ring->int_flags |= UA_INT_FLAG_CQ_ENTER;
}

/* Tells the engine the ring is done with: a kernel ring dies with its last
 * reference, ours needs telling. The registered index is another thread's
 * when that thread registered the ring: then the descriptor does. */
static void release_ring(struct io_uring *ring)
{
	if (ua_ring_register(ring, UA_REGISTER_RELEASE_RING, NULL, 0) < 0 &&
	    ring->ring_fd != -1)
		io_uring_register((unsigned) ring->ring_fd,
				  UA_REGISTER_RELEASE_RING, NULL, 0);
}

/* The ring's descriptor polls as the kernel's (ua_private.h), unless the
 * caller's parameters, with their reserved word set, are to be refused. */
static int setup_pollable(unsigned entries, struct io_uring_params *p)
{
	bool mark = !p->resv[2];
	int fd;

	if (mark)
		p->resv[2] = UA_SETUP_RESV_POLL_FD;
	fd = io_uring_setup(entries, p);
	if (mark)
		p->resv[2] = 0;
	return fd;
}

/* Returns the bytes of buf used with NO_MMAP, else 0; or -errno. */
static int queue_init(unsigned entries, struct io_uring *ring,
		      struct io_uring_params *p, void *buf, size_t buf_size)
{
	int fd, used = 0, ret;

	memset(ring, 0, sizeof(*ring));
	if ((p->flags & IORING_SETUP_REGISTERED_FD_ONLY) &&
	    !(p->flags & IORING_SETUP_NO_MMAP))
		return -EINVAL;
	if (p->flags & IORING_SETUP_NO_MMAP) {
		used = alloc_app_rings(entries, p, &ring->sq, &ring->cq, buf,
				       buf_size);
		if (used < 0)
			return used;
		if (buf)
			ring->int_flags |= UA_INT_FLAG_APP_MEM;
	}
	fd = setup_pollable(entries, p);
	if (fd < 0) {
		if (!(ring->int_flags & UA_INT_FLAG_APP_MEM))
			unmap_rings(&ring->sq, &ring->cq);
		return fd;
	}
	if (p->flags & IORING_SETUP_NO_MMAP) {
		point_rings(p, &ring->sq, &ring->cq);
	} else {
		ret = point_into_engine_maps(fd, p, ring);
		if (ret) {
			io_uring_register((unsigned) fd, UA_REGISTER_RELEASE_RING,
					  NULL, 0);
			close(fd);
			return ret;
		}
	}
	adopt_ring(ring, fd, p);
	return used;
}

/* Without the SQ array where the engine takes it, as liburing does; the
 * array only when asked for it failed. */
static int queue_init_no_sqarray(unsigned entries, struct io_uring *ring,
				 struct io_uring_params *p, void *buf,
				 size_t buf_size)
{
	unsigned flags = p->flags;
	int ret;

	p->flags |= IORING_SETUP_NO_SQARRAY;
	ret = queue_init(entries, ring, p, buf, buf_size);
	if (ret != -EINVAL || (flags & IORING_SETUP_NO_SQARRAY))
		return ret;
	p->flags = flags;
	return queue_init(entries, ring, p, buf, buf_size);
}

UA_PUBLIC int io_uring_queue_init_mem(unsigned entries, struct io_uring *ring,
				      struct io_uring_params *p, void *buf,
				      size_t buf_size)
{
	p->flags |= IORING_SETUP_NO_MMAP;
	return queue_init_no_sqarray(entries, ring, p, buf, buf_size);
}

UA_PUBLIC int io_uring_queue_init_params(unsigned entries,
					 struct io_uring *ring,
					 struct io_uring_params *p)
{
	int ret = queue_init_no_sqarray(entries, ring, p, NULL, 0);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_queue_init(unsigned entries, struct io_uring *ring,
				  unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_queue_init_params(entries, ring, &p);
}

/* Released before its memory goes: a NO_MMAP ring's teardown still posts
 * into the rings, which are the application's pages. */
UA_PUBLIC void io_uring_queue_exit(struct io_uring *ring)
{
	release_ring(ring);
	if (!(ring->int_flags & (UA_INT_FLAG_APP_MEM | UA_INT_FLAG_ENGINE_MAPS)))
		unmap_rings(&ring->sq, &ring->cq);
	if (ring->int_flags & UA_INT_FLAG_REG_RING)
		io_uring_unregister_ring_fd(ring);
	if (ring->ring_fd != -1)
		close(ring->ring_fd);
}

/* The rings stay out of a fork() child's address space (MADV_DONTFORK). */
UA_PUBLIC int io_uring_ring_dontfork(struct io_uring *ring)
{
	if (!ring->sq.ring_ptr || !ring->sq.sqes || !ring->cq.ring_ptr)
		return -EINVAL;
	if (madvise(ring->sq.sqes, ((size_t) ring->sq.ring_entries <<
				    io_uring_sqe_shift(ring)) *
				   sizeof(struct io_uring_sqe),
		    MADV_DONTFORK) < 0)
		return -errno;
	if (madvise(ring->sq.ring_ptr, ring->sq.ring_sz, MADV_DONTFORK) < 0)
		return -errno;
	if (ring->cq.ring_ptr != ring->sq.ring_ptr &&
	    madvise(ring->cq.ring_ptr, ring->cq.ring_sz, MADV_DONTFORK) < 0)
		return -errno;
	return 0;
}

/*
 * IORING_REGISTER_RESIZE_RINGS: the engine moves the rings to new memory;
 * map it, then carry over the SQEs not yet submitted.
 */
UA_PUBLIC int io_uring_resize_rings(struct io_uring *ring,
				    struct io_uring_params *p)
{
	struct io_uring_sq sq;
	struct io_uring_cq cq;
	int ret;

	if (ring->flags & IORING_SETUP_NO_MMAP)
		return -EINVAL;
	memset(&p->sq_off, 0, sizeof(p->sq_off));
	memset(&p->cq_off, 0, sizeof(p->cq_off));
	ret = ua_ring_register(ring, IORING_REGISTER_RESIZE_RINGS, p, 1);
	if (ret < 0)
		goto out;
	memset(&sq, 0, sizeof(sq));
	memset(&cq, 0, sizeof(cq));
	ret = ua_ring_register(ring, UA_REGISTER_MAP_FD, NULL, 0);
	if (ret >= 0)
		ret = mmap_rings(ret, p, &sq, &cq);
	if (ret)
		goto out;
	sq.sqe_head = ring->sq.sqe_head;
	sq.sqe_tail = ring->sq.sqe_tail;
	/* The engine's first maps stay its own until the teardown; the new
	 * ones are the application's, as after any mmap. */
	if (!(ring->int_flags & UA_INT_FLAG_ENGINE_MAPS))
		unmap_rings(&ring->sq, &ring->cq);
	ring->int_flags &= (__u8) ~UA_INT_FLAG_ENGINE_MAPS;
	ring->sq = sq;
	ring->cq = cq;
	identity_sq_array(ring, p->flags);
out:
	p->flags = 0;	/* the call takes new flags each time */
	return ret;
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

/* The memory a ring of entries takes: CQ ring and SQ array, then SQEs,
 * each rounded to pages. */
UA_PUBLIC ssize_t io_uring_memory_size_params(unsigned entries,
					      struct io_uring_params *p)
{
	size_t page = page_size(), ring_mem;
	unsigned sq, cq;
	int ret = ua_ring_sizes(entries, p, &sq, &cq);

	if (ret)
		return ret;
	ring_mem = RING_HEADER_SIZE + cqes_size(p, cq);
	if (!(p->flags & IORING_SETUP_NO_SQARRAY))
		ring_mem += sq * sizeof(unsigned);
	return (ssize_t) (round_up(ring_mem, page) +
			  round_up(sqes_size(p, sq), page));
}

UA_PUBLIC ssize_t io_uring_memory_size(unsigned entries, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_memory_size_params(entries, &p);
}

/*
 * Locked memory a ring needs (RLIMIT_MEMLOCK): none where the rings are
 * charged as ordinary memory, which IORING_FEAT_NATIVE_WORKERS tells.
 */
UA_PUBLIC ssize_t io_uring_mlock_size_params(unsigned entries,
					     struct io_uring_params *p)
{
	struct io_uring_params probe_params;
	struct io_uring ring;

	memset(&probe_params, 0, sizeof(probe_params));
	if (!io_uring_queue_init_params(entries, &ring, &probe_params))
		io_uring_queue_exit(&ring);
	if (probe_params.features & IORING_FEAT_NATIVE_WORKERS)
		return 0;
	return io_uring_memory_size_params(entries, p);
}

UA_PUBLIC ssize_t io_uring_mlock_size(unsigned entries, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_mlock_size_params(entries, &p);
}
