/* SPDX-License-Identifier: MIT */
/*
 * The shared memory of a ring and the table that finds a ring from its
 * descriptor.
 *
 * The descriptor is a memfd laid out at the kernel's mmap offsets, so an
 * application maps it exactly as it would map a kernel ring:
 *   IORING_OFF_SQ_RING   SQ head, tail, mask, entries, flags, dropped, array
 *   IORING_OFF_CQ_RING   CQ head, tail, mask, entries, overflow, flags, CQEs
 *   IORING_OFF_SQES      the SQE array
 * The file is sparse: only the pages of the three regions are ever touched.
 * Heads and tails sit on their own cache lines so the producer and the
 * consumer of a ring do not share a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "ua_private.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/rcu.h"
#include "engine/ringref.h"
#include "engine/sys.h"
#include "engine/uaccess.h"
#include "engine/thread.h"

#define CACHELINE	64
#define OFF_HEAD	0
#define OFF_TAIL	CACHELINE
#define OFF_MASK	(2 * CACHELINE)
#define OFF_ENTRIES	(OFF_MASK + 4)
#define OFF_SQ_FLAGS	(OFF_MASK + 8)
#define OFF_SQ_DROPPED	(OFF_MASK + 12)
#define OFF_CQ_OVERFLOW	(OFF_MASK + 8)
#define OFF_CQ_FLAGS	(OFF_MASK + 12)
#define OFF_ENTRIES_ARR	(3 * CACHELINE)

static size_t page_round(size_t n)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);

	return (n + page - 1) & ~(page - 1);
}

static void *map_region(int fd, size_t size, off_t off)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Where a ring's header fields and arrays sit, from the start of the SQ
 * ring's and of the CQ ring's memory: the engine's own maps (a SQ and a
 * CQ map, each field on its own cache line) or the kernel's struct
 * io_rings in the application's memory (NO_MMAP, both in one).
 */
struct ring_layout {
	__u32	sq_head, sq_tail, sq_mask, sq_entries, sq_flags, sq_dropped,
		sq_array;
	__u32	cq_head, cq_tail, cq_mask, cq_entries, cq_overflow, cq_flags,
		cqes;
};

static const struct ring_layout map_layout = {
	.sq_head = OFF_HEAD, .sq_tail = OFF_TAIL, .sq_mask = OFF_MASK,
	.sq_entries = OFF_ENTRIES, .sq_flags = OFF_SQ_FLAGS,
	.sq_dropped = OFF_SQ_DROPPED, .sq_array = OFF_ENTRIES_ARR,
	.cq_head = OFF_HEAD, .cq_tail = OFF_TAIL, .cq_mask = OFF_MASK,
	.cq_entries = OFF_ENTRIES, .cq_overflow = OFF_CQ_OVERFLOW,
	.cq_flags = OFF_CQ_FLAGS, .cqes = OFF_ENTRIES_ARR,
};

/* The offsets the application maps by; user_addr is left as it was. */
static void fill_offsets(struct io_uring_params *p, const struct ring_layout *l)
{
	memset(&p->sq_off, 0, offsetof(struct io_sqring_offsets, user_addr));
	p->sq_off.head = l->sq_head;
	p->sq_off.tail = l->sq_tail;
	p->sq_off.ring_mask = l->sq_mask;
	p->sq_off.ring_entries = l->sq_entries;
	p->sq_off.flags = l->sq_flags;
	p->sq_off.dropped = l->sq_dropped;
	p->sq_off.array = l->sq_array;

	memset(&p->cq_off, 0, offsetof(struct io_cqring_offsets, user_addr));
	p->cq_off.head = l->cq_head;
	p->cq_off.tail = l->cq_tail;
	p->cq_off.ring_mask = l->cq_mask;
	p->cq_off.ring_entries = l->cq_entries;
	p->cq_off.overflow = l->cq_overflow;
	p->cq_off.flags = l->cq_flags;
	p->cq_off.cqes = l->cqes;
}

void ua_ring_fill_offsets(struct io_uring_params *p)
{
	fill_offsets(p, &map_layout);
	p->sq_off.user_addr = 0;
	p->cq_off.user_addr = 0;
}

static void point_into(struct ua_ctx *ctx, char *sq, char *cq,
		       const struct ring_layout *l, void *sqes)
{
	ctx->sq_head = (unsigned *) (sq + l->sq_head);
	ctx->sq_tail = (unsigned *) (sq + l->sq_tail);
	ctx->sq_flags = (unsigned *) (sq + l->sq_flags);
	ctx->sq_dropped = (unsigned *) (sq + l->sq_dropped);
	ctx->sq_array = (unsigned *) (sq + l->sq_array);
	ctx->sqes = sqes;
	*(unsigned *) (sq + l->sq_mask) = ctx->sq_entries - 1;
	*(unsigned *) (sq + l->sq_entries) = ctx->sq_entries;

	ctx->cq_head = (unsigned *) (cq + l->cq_head);
	ctx->cq_tail = (unsigned *) (cq + l->cq_tail);
	ctx->cq_overflow = (unsigned *) (cq + l->cq_overflow);
	ctx->cq_flags = (unsigned *) (cq + l->cq_flags);
	ctx->cqes = (struct io_uring_cqe *) (cq + l->cqes);
	*(unsigned *) (cq + l->cq_mask) = ctx->cq_entries - 1;
	*(unsigned *) (cq + l->cq_entries) = ctx->cq_entries;
}

/*
 * The process keeps the memfd of one exited small ring, mapped, with its
 * pages zeroed: the next small ring takes it over with one dup instead of
 * memfd_create, ftruncate, three mmaps (and later three munmaps and the
 * pages' release when the last descriptor closes), which is most of the
 * time a ring's setup and exit take. The spare is mapped at the sizes of
 * a 256-entry ring, so that it fits any small ring, and only one file is
 * ever set aside: held by a live ring (spare_out) or waiting in spare, it
 * costs the process one descriptor. A ring with buffer rings grew its
 * file and is not kept; neither is a ring inherited over fork() (its pages
 * are the parent's), and a fork() child drops the spare for the same
 * reason.
 */
#define SPARE_ENTRIES	256u

struct spare_file {
	int		fd;
	unsigned long	ino;
	void		*sq_map, *cq_map, *sqe_map;
};

static unsigned fork_gen;		/* below, with the table */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spare_file spare = { .fd = -1 };
static bool spare_out;		/* a live ring holds the file set aside */

static size_t sq_size(unsigned entries)
{
	return page_round(OFF_ENTRIES_ARR + entries * sizeof(unsigned));
}

/* Without an SQ array (IORING_SETUP_NO_SQARRAY) the SQ ring is only its
 * header: one page, as much as the kernel maps for it. */
static size_t sq_map_size(const struct ua_ctx *ctx, unsigned entries)
{
	if (ctx->setup_flags & IORING_SETUP_NO_SQARRAY)
		return page_round(OFF_ENTRIES_ARR);
	return sq_size(entries);
}

/* slots: 16-byte CQE slots (two per CQE on a CQE32 ring) */
static size_t cq_size(unsigned slots)
{
	return page_round(OFF_ENTRIES_ARR + slots * sizeof(struct io_uring_cqe));
}

/* slots: 64-byte SQE slots (two per SQE on an SQE128 ring) */
static size_t sqe_size(unsigned slots)
{
	return page_round(slots * sizeof(struct io_uring_sqe));
}

static bool fits_spare(const struct ua_ctx *ctx)
{
	return ctx->sq_map_sz <= sq_size(SPARE_ENTRIES) &&
	       ctx->cq_map_sz <= cq_size(2 * SPARE_ENTRIES) &&
	       ctx->sqe_map_sz <= sqe_size(SPARE_ENTRIES);
}

/* The ring maps its file at the spare's sizes when it may be kept. */
static void size_for_spare(struct ua_ctx *ctx)
{
	ctx->sq_map_sz = sq_size(SPARE_ENTRIES);
	ctx->cq_map_sz = cq_size(2 * SPARE_ENTRIES);
	ctx->sqe_map_sz = sqe_size(SPARE_ENTRIES);
}

/* Takes the spare (true: ctx->spare_fd set, maps adopted), or claims the
 * right to keep this ring's file (ctx->spare_fd -2: make one), or
 * neither. */
static bool take_spare(struct ua_ctx *ctx)
{
	bool taken = false;

	ctx->spare_fd = -1;
	if (!fits_spare(ctx))
		return false;
	pthread_mutex_lock(&spare_lock);
	if (spare.fd >= 0) {
		ctx->spare_fd = spare.fd;
		ctx->ring_ino = spare.ino;
		ctx->sq_map = spare.sq_map;
		ctx->cq_map = spare.cq_map;
		ctx->sqe_map = spare.sqe_map;
		spare.fd = -1;
		spare_out = taken = true;
	} else if (!spare_out) {
		ctx->spare_fd = -2;
		spare_out = true;
	}
	pthread_mutex_unlock(&spare_lock);
	if (ctx->spare_fd != -1)
		size_for_spare(ctx);
	return taken;
}

/* Gives up the claim on the spare: the ring's file is not kept. */
static void unclaim_spare(struct ua_ctx *ctx)
{
	if (ctx->spare_fd == -1)
		return;
	if (ctx->spare_fd >= 0)
		close(ctx->spare_fd);
	ctx->spare_fd = -1;
	pthread_mutex_lock(&spare_lock);
	spare_out = false;
	pthread_mutex_unlock(&spare_lock);
}

/* The ring's file, its pages zeroed as a new ring's, waits for the next
 * small ring; ctx keeps none of it. */
static void put_spare(struct ua_ctx *ctx)
{
	pthread_mutex_lock(&spare_lock);
	spare = (struct spare_file) {
		.fd = ctx->spare_fd, .ino = ctx->ring_ino,
		.sq_map = ctx->sq_map, .cq_map = ctx->cq_map,
		.sqe_map = ctx->sqe_map,
	};
	spare_out = false;
	pthread_mutex_unlock(&spare_lock);
	ctx->spare_fd = -1;
	ctx->sq_map = ctx->cq_map = ctx->sqe_map = NULL;
}

/* The spare's pages are shared with the parent, which may hand them to
 * a ring of its own: the child closes it before it runs any code. */
static void drop_spare_atfork_child(void)
{
	pthread_mutex_init(&spare_lock, NULL);
	spare_out = false;
	if (spare.fd < 0)
		return;
	munmap(spare.sq_map, sq_size(SPARE_ENTRIES));
	munmap(spare.cq_map, cq_size(2 * SPARE_ENTRIES));
	munmap(spare.sqe_map, sqe_size(SPARE_ENTRIES));
	close(spare.fd);
	spare.fd = -1;
}

static int ring_from_spare(struct ua_ctx *ctx)
{
	int fd = fcntl(ctx->spare_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0) {
		fd = -errno;
		put_spare(ctx);
	}
	return fd;
}

static int ring_from_new_file(struct ua_ctx *ctx)
{
	int fd = ua_sys_memfd_create("[io_uring]", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t) (IORING_OFF_SQES + ctx->sqe_map_sz)) < 0)
		goto fail;
	ctx->sq_map = map_region(fd, ctx->sq_map_sz, (off_t) IORING_OFF_SQ_RING);
	ctx->cq_map = map_region(fd, ctx->cq_map_sz, (off_t) IORING_OFF_CQ_RING);
	ctx->sqe_map = map_region(fd, ctx->sqe_map_sz, (off_t) IORING_OFF_SQES);
	if (!ctx->sq_map || !ctx->cq_map || !ctx->sqe_map)
		goto fail;
	/* The claim is kept only with a descriptor of the engine's own. */
	if (ctx->spare_fd == -2) {
		ctx->spare_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (ctx->spare_fd < 0) {
			ctx->spare_fd = -2;
			unclaim_spare(ctx);
		}
	}
	return fd;
fail:
	ua_ring_destroy(ctx);
	close(fd);
	return -ENOMEM;
}

/*
 * IORING_SETUP_NO_MMAP: the rings live in the application's memory, laid
 * out as the kernel's struct io_rings (SQ and CQ heads and tails, masks,
 * entries, flags, then the CQEs on the next cache line and the SQ array
 * after them), the SQEs in memory of their own. The engine uses the pages
 * in place, as the kernel pins them.
 */
#define KR_SQ_HEAD	0
#define KR_SQ_TAIL	4
#define KR_CQ_HEAD	8
#define KR_CQ_TAIL	12
#define KR_SQ_MASK	16
#define KR_CQ_MASK	20
#define KR_SQ_ENTRIES	24
#define KR_CQ_ENTRIES	28
#define KR_SQ_DROPPED	32
#define KR_SQ_FLAGS	36
#define KR_CQ_FLAGS	40
#define KR_CQ_OVERFLOW	44
#define KR_CQES		CACHELINE

/* The kernel's rings_size(): a CQE32 ring doubles the header with the
 * CQEs. */
static size_t app_rings_size(const struct ua_ctx *ctx, size_t *sq_array)
{
	size_t off = (KR_CQES + ctx->cq_entries * sizeof(struct io_uring_cqe))
		     << ua_cqe_shift(ctx);

	off = (off + CACHELINE - 1) & ~(size_t) (CACHELINE - 1);
	*sq_array = off;
	if (ctx->setup_flags & IORING_SETUP_NO_SQARRAY)
		return off;
	return off + ctx->sq_entries * sizeof(unsigned);
}

/* The kernel pins the pages for writing: each must be mapped writable
 * (-EFAULT), the region page-aligned (-EINVAL). */
static int check_app_region(__u64 addr, size_t size)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);

	if (addr & (page - 1))
		return -EINVAL;
	if (addr + size < addr)
		return -EOVERFLOW;
	return ua_check_writable_user(addr, size);
}

static const struct ring_layout app_layout = {
	.sq_head = KR_SQ_HEAD, .sq_tail = KR_SQ_TAIL, .sq_mask = KR_SQ_MASK,
	.sq_entries = KR_SQ_ENTRIES, .sq_flags = KR_SQ_FLAGS,
	.sq_dropped = KR_SQ_DROPPED,
	.cq_head = KR_CQ_HEAD, .cq_tail = KR_CQ_TAIL, .cq_mask = KR_CQ_MASK,
	.cq_entries = KR_CQ_ENTRIES, .cq_overflow = KR_CQ_OVERFLOW,
	.cq_flags = KR_CQ_FLAGS, .cqes = KR_CQES,
};

/* The descriptor of a NO_MMAP ring maps no rings: an empty memfd, which
 * buffer rings the engine allocates grow (ua_ring_map_pbuf). */
static int ring_in_app_memory(struct ua_ctx *ctx, struct io_uring_params *p)
{
	__u64 rings = p->cq_off.user_addr, sqes = p->sq_off.user_addr;
	struct ring_layout layout = app_layout;
	size_t sq_array, rings_size = page_round(app_rings_size(ctx, &sq_array));
	size_t sqes_size = sqe_size(ctx->sq_entries << ua_sqe_shift(ctx));
	int fd, ret;

	ctx->spare_fd = -1;
	ret = check_app_region(rings, rings_size);
	if (!ret)
		ret = check_app_region(sqes, sqes_size);
	if (ret)
		return ret;
	fd = ua_sys_memfd_create("[io_uring]", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ctx->fd = fd;
	layout.sq_array = (__u32) sq_array;
	/* The header starts zeroed, as the kernel clears it; the CQEs, the
	 * SQ array and the SQEs are left as they are. */
	memset((void *) (uintptr_t) rings, 0, KR_CQES);
	point_into(ctx, (char *) (uintptr_t) rings, (char *) (uintptr_t) rings,
		   &layout, (void *) (uintptr_t) sqes);
	fill_offsets(p, &layout);
	if (p->flags & IORING_SETUP_NO_SQARRAY)
		p->sq_off.array = 0;
	return 0;
}

int ua_ring_create(struct ua_ctx *ctx, struct io_uring_params *p)
{
	int fd;

	if (ctx->setup_flags & IORING_SETUP_NO_MMAP)
		return ring_in_app_memory(ctx, p);
	ctx->sq_map_sz = sq_map_size(ctx, ctx->sq_entries);
	ctx->cq_map_sz = cq_size(ctx->cq_entries << ua_cqe_shift(ctx));
	ctx->sqe_map_sz = sqe_size(ctx->sq_entries << ua_sqe_shift(ctx));
	ctx->fork_gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	fd = take_spare(ctx) ? ring_from_spare(ctx) : ring_from_new_file(ctx);
	if (fd < 0)
		return fd;
	ctx->fd = fd;
	point_into(ctx, ctx->sq_map, ctx->cq_map, &map_layout, ctx->sqe_map);
	ua_ring_fill_offsets(p);
	return 0;
}

/*
 * A buffer ring the engine allocates (IOU_PBUF_RING_MMAP) lives in the
 * ring's memfd at the offset the application maps it from, as it would
 * map the kernel's: IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT.
 * The file grows to hold it (tmpfs keeps it sparse); the pages start
 * zeroed because unmapping punches them out again.
 */
off_t ua_ring_pbuf_offset(__u16 bgid)
{
	return (off_t) (IORING_OFF_PBUF_RING |
			((__u64) bgid << IORING_OFF_PBUF_SHIFT));
}

/* The ring's memfd: the engine's own, or the application's descriptor,
 * -1 once the application closed it (detached). */
static int ring_memfd(struct ua_ctx *ctx)
{
	if (ctx->mem_fd >= 0)
		return ctx->mem_fd;
	return __atomic_load_n(&ctx->fd, __ATOMIC_RELAXED);
}

/* The descriptor the user side maps the rings from. */
int ua_ring_map_fd(struct ua_ctx *ctx)
{
	int fd = ring_memfd(ctx);

	return fd < 0 ? -EBADF : fd;
}

/*
 * The engine's own maps of the rings, for the user side of this library
 * to point into (UA_REGISTER_RING_MAPS): mapping the file a second time
 * would double the address space a ring takes, and its pages' entries in
 * the page tables. They stay mapped until the ring's teardown, which the
 * user side asks for only once it is done with them. Only the first maps:
 * a resize unmaps later ones at the next resize, under its locks.
 */
int ua_ring_user_maps(struct ua_ctx *ctx, void *arg)
{
	struct ua_user_maps m;

	if ((ctx->setup_flags & IORING_SETUP_NO_MMAP) || ctx->first_maps)
		return -EINVAL;
	m = (struct ua_user_maps) {
		.sq_ring = (__u64) (uintptr_t) ctx->sq_map,
		.cq_ring = (__u64) (uintptr_t) ctx->cq_map,
		.sqes = (__u64) (uintptr_t) ctx->sqe_map,
		.sq_ring_sz = ctx->sq_map_sz, .cq_ring_sz = ctx->cq_map_sz,
		.sqes_sz = ctx->sqe_map_sz,
	};
	if (ua_copy_to_user((__u64) (uintptr_t) arg, &m, sizeof(m)))
		return -EFAULT;
	return 0;
}

/* The file reaches end bytes (0, or -1 with errno). */
static int grow_file(int fd, off_t end)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	return st.st_size < end ? ftruncate(fd, end) : 0;
}

/* Memory the engine allocates for the application to map at off from
 * the ring's descriptor: without one it could not, so there is none. */
static void *map_grown(struct ua_ctx *ctx, off_t off, size_t size)
{
	int fd = ring_memfd(ctx);

	if (fd < 0)
		return NULL;
	ctx->file_grown = true;		/* never a spare: ua_ring_destroy */
	if (grow_file(fd, off + (off_t) size))
		return NULL;
	return map_region(fd, size, off);
}

void *ua_ring_map_pbuf(struct ua_ctx *ctx, __u16 bgid, size_t size)
{
	return map_grown(ctx, ua_ring_pbuf_offset(bgid), size);
}

void ua_ring_unmap_pbuf(struct ua_ctx *ctx, __u16 bgid, void *p, size_t size)
{
	int fd = ring_memfd(ctx);

	munmap(p, size);
	if (fd >= 0)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  ua_ring_pbuf_offset(bgid), (off_t) size);
}

/*
 * A region the engine allocates (IORING_REGISTER_MEM_REGION without user
 * memory) lives in the ring's memfd at the offset the kernel gives such a
 * region, for the application to map as it would map the kernel's.
 */
void *ua_ring_map_region(struct ua_ctx *ctx, size_t size)
{
	return map_grown(ctx, UA_OFF_PARAM_REGION, size);
}

/*
 * IORING_REGISTER_RESIZE_RINGS. The regions are mapped anew from the
 * ring's file at the new sizes, at the offsets the application maps them
 * from. The header pointers (heads, tails, flags) never move: they stay
 * in the ring's first maps, which show the same pages with the headers at
 * the same places, so a thread that reads one without a lock reads the
 * ring as it is now. The first maps are kept until the ring's teardown;
 * later ones go at the next resize, as only holders of the locks the
 * resize takes use the arrays.
 */
struct ua_ring_maps *ua_ring_map_sizes(struct ua_ctx *ctx, unsigned sq,
				       unsigned cq, int *err)
{
	struct ua_ring_maps *m = calloc(1, sizeof(*m));
	int fd = ring_memfd(ctx);

	*err = -ENOMEM;
	if (!m)
		return NULL;
	m->sq_map_sz = sq_map_size(ctx, sq);
	m->cq_map_sz = cq_size(cq << ua_cqe_shift(ctx));
	m->sqe_map_sz = sqe_size(sq << ua_sqe_shift(ctx));
	m->stage_sqes = malloc(m->sqe_map_sz);
	m->stage_cqes = malloc(m->cq_map_sz);
	if (!m->stage_sqes || !m->stage_cqes)
		goto fail;
	/* The application maps the new rings from this file. */
	*err = -EBADF;
	if (fd < 0)
		goto fail;
	*err = -ENOMEM;
	if (grow_file(fd, (off_t) (IORING_OFF_SQES + m->sqe_map_sz)))
		goto fail;
	m->sq_map = map_region(fd, m->sq_map_sz, (off_t) IORING_OFF_SQ_RING);
	m->cq_map = map_region(fd, m->cq_map_sz, (off_t) IORING_OFF_CQ_RING);
	m->sqe_map = map_region(fd, m->sqe_map_sz, (off_t) IORING_OFF_SQES);
	if (m->sq_map && m->cq_map && m->sqe_map)
		return m;
fail:
	ua_ring_unmap_sizes(m);
	return NULL;
}

static void unmap_maps(struct ua_ring_maps *m)
{
	if (m->sq_map)
		munmap(m->sq_map, m->sq_map_sz);
	if (m->cq_map)
		munmap(m->cq_map, m->cq_map_sz);
	if (m->sqe_map)
		munmap(m->sqe_map, m->sqe_map_sz);
}

/* Maps that were not taken (the resize failed). */
void ua_ring_unmap_sizes(struct ua_ring_maps *m)
{
	unmap_maps(m);
	free(m->stage_sqes);
	free(m->stage_cqes);
	free(m);
}

/* Entries head..tail of a ring of mask + 1, of size bytes each, copied
 * in order to the start of stage. */
static void stage_entries(void *stage, const void *ring, unsigned head,
			  unsigned tail, unsigned mask, size_t size)
{
	unsigned i;

	for (i = 0; head + i != tail; i++)
		memcpy((char *) stage + i * size,
		       (const char *) ring + ((head + i) & mask) * size, size);
}

static void unstage_entries(void *ring, const void *stage, unsigned head,
			    unsigned tail, unsigned mask, size_t size)
{
	unsigned i;

	for (i = 0; head + i != tail; i++)
		memcpy((char *) ring + ((head + i) & mask) * size,
		       (const char *) stage + i * size, size);
}

/*
 * Under uring_lock and completion_lock: the ring moves to m's maps, fresh
 * but for the SQEs and CQEs not yet consumed, which keep their positions
 * (head and tail do not change), and for the header's flags and counters;
 * or -EOVERFLOW, as on the kernel, if they do not fit. m is the ring's
 * from then on, and keeps its first maps if these were.
 */
int ua_ring_move(struct ua_ctx *ctx, struct ua_ring_maps *m, unsigned sq,
		 unsigned cq)
{
	size_t sqe_sz = sizeof(struct io_uring_sqe) << ua_sqe_shift(ctx);
	size_t cqe_sz = sizeof(struct io_uring_cqe) << ua_cqe_shift(ctx);
	unsigned sq_head = *ctx->sq_head, sq_tail = *ctx->sq_tail;
	unsigned cq_head = *ctx->cq_head, cq_tail = ctx->cached_cq_tail;
	struct ua_ring_maps old = {
		.sq_map = ctx->sq_map, .cq_map = ctx->cq_map,
		.sqe_map = ctx->sqe_map, .sq_map_sz = ctx->sq_map_sz,
		.cq_map_sz = ctx->cq_map_sz, .sqe_map_sz = ctx->sqe_map_sz,
	};

	ua_lock_assert_held(&ctx->uring_lock);
	ua_lock_assert_held(&ctx->completion_lock);
	if (sq_tail - sq_head > sq || cq_tail - cq_head > cq)
		return -EOVERFLOW;
	stage_entries(m->stage_sqes, ctx->sqes, sq_head, sq_tail,
		      ctx->sq_entries - 1, sqe_sz);
	stage_entries(m->stage_cqes, ctx->cqes, cq_head, cq_tail,
		      ctx->cq_entries - 1, cqe_sz);
	memset((char *) m->sq_map + OFF_ENTRIES_ARR, 0,
	       m->sq_map_sz - OFF_ENTRIES_ARR);
	memset((char *) m->cq_map + OFF_ENTRIES_ARR, 0,
	       m->cq_map_sz - OFF_ENTRIES_ARR);
	memset(m->sqe_map, 0, m->sqe_map_sz);
	unstage_entries(m->sqe_map, m->stage_sqes, sq_head, sq_tail, sq - 1,
			sqe_sz);
	unstage_entries((char *) m->cq_map + OFF_ENTRIES_ARR, m->stage_cqes,
			cq_head, cq_tail, cq - 1, cqe_sz);
	*(unsigned *) ((char *) m->sq_map + OFF_MASK) = sq - 1;
	*(unsigned *) ((char *) m->sq_map + OFF_ENTRIES) = sq;
	*(unsigned *) ((char *) m->cq_map + OFF_MASK) = cq - 1;
	*(unsigned *) ((char *) m->cq_map + OFF_ENTRIES) = cq;

	ctx->sq_map = m->sq_map;
	ctx->cq_map = m->cq_map;
	ctx->sqe_map = m->sqe_map;
	ctx->sq_map_sz = m->sq_map_sz;
	ctx->cq_map_sz = m->cq_map_sz;
	ctx->sqe_map_sz = m->sqe_map_sz;
	ctx->sq_array = (unsigned *) ((char *) m->sq_map + OFF_ENTRIES_ARR);
	ctx->sqes = m->sqe_map;
	ctx->cqes = (struct io_uring_cqe *) ((char *) m->cq_map +
					     OFF_ENTRIES_ARR);
	ctx->sq_entries = sq;
	ctx->cq_entries = cq;
	ctx->file_grown = true;		/* never a spare: ua_ring_destroy */

	free(m->stage_sqes);
	free(m->stage_cqes);
	m->stage_sqes = m->stage_cqes = NULL;
	if (ctx->first_maps) {
		unmap_maps(&old);
		free(m);
	} else {
		*m = old;
		ctx->first_maps = m;
	}
	return 0;
}

/* At teardown: no thread holds a pointer into them any more. */
static void unmap_first_maps(struct ua_ctx *ctx)
{
	if (!ctx->first_maps)
		return;
	unmap_maps(ctx->first_maps);
	free(ctx->first_maps);
	ctx->first_maps = NULL;
}

/* What the application could have written: the pages it maps. */
static void zero_used_pages(struct ua_ctx *ctx)
{
	memset(ctx->sq_map, 0, sq_map_size(ctx, ctx->sq_entries));
	memset(ctx->cq_map, 0, cq_size(ctx->cq_entries << ua_cqe_shift(ctx)));
	memset(ctx->sqe_map, 0, sqe_size(ctx->sq_entries << ua_sqe_shift(ctx)));
}

/* Rings whose descriptor is an eventfd (ua_ring_make_pollable): without
 * one, a wait of the application's has none to quiet (ringpoll.c). */
static unsigned nr_pollable;

/* An inherited ring's descriptor number may be the child's by now: left
 * open, as the ring's own (ringref.c); the claim was the parent's. */
void ua_ring_destroy(struct ua_ctx *ctx)
{
	bool inherited = ua_ctx_inherited(ctx);

	if (ctx->cq_efd >= 0) {
		__atomic_sub_fetch(&nr_pollable, 1, __ATOMIC_RELAXED);
		if (!inherited) {
			close(ctx->cq_efd);
			close(ctx->mem_fd);
		}
	}
	ctx->cq_efd = ctx->mem_fd = -1;
	if (ctx->spare_fd >= 0 && ctx->ring_ino && !ctx->file_grown &&
	    !inherited) {
		zero_used_pages(ctx);
		put_spare(ctx);
		return;
	}
	if (!inherited)
		unclaim_spare(ctx);
	unmap_first_maps(ctx);
	if (ctx->sq_map)
		munmap(ctx->sq_map, ctx->sq_map_sz);
	if (ctx->cq_map)
		munmap(ctx->cq_map, ctx->cq_map_sz);
	if (ctx->sqe_map)
		munmap(ctx->sqe_map, ctx->sqe_map_sz);
	ctx->sq_map = ctx->cq_map = ctx->sqe_map = NULL;
}

/*
 * Descriptor -> ring. Two levels of fixed-size chunks that are never moved
 * or freed (ringref.h), so a lookup is two loads with no lock; only
 * installing a ring into a chunk that does not exist yet takes table_lock.
 *
 * The ring's memory is freed a grace period after it left the table
 * (ua_ctx_free_rcu), so a lookup racing the teardown still reads a ring
 * whose UA_CTX_DEAD makes it fail.
 */
/* Its address tells threads apart: the owner's is in ctx->owner. */
_Thread_local char ua_ring_thread_tag UA_TLS_IE;

struct ua_ctx **ua_ring_table[UA_RING_NR_CHUNKS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * fork(): the child shares the rings' memory with its parent (MAP_SHARED)
 * but none of the threads that drive them. A ring installed before the
 * last fork() of this process is its parent's: inherited. The child never
 * drives nor tears down such a ring (entry.c); it only lets go of it, and
 * what it lets go of stays reachable here, in the state the fork left it.
 */
static unsigned fork_gen;		/* bumped in each fork() child */
static struct ua_ctx *relics;		/* inherited rings let go of */

static struct ua_ctx **slot_create(int fd)
{
	unsigned chunk_nr = (unsigned) fd >> UA_RING_CHUNK_SHIFT;
	struct ua_ctx **chunk;

	if (fd < 0 || chunk_nr >= UA_RING_NR_CHUNKS)
		return NULL;
	pthread_mutex_lock(&table_lock);
	chunk = ua_ring_table[chunk_nr];
	if (!chunk) {
		chunk = calloc(UA_RING_CHUNK_SIZE, sizeof(*chunk));
		__atomic_store_n(&ua_ring_table[chunk_nr], chunk,
				 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&table_lock);
	return ua_ring_slot(fd);
}

/* Which ring fd names, for identification only: no reference is taken. */
struct ua_ctx *ua_ctx_lookup(int fd)
{
	struct ua_ctx **slot = ua_ring_slot(fd);
	struct ua_ctx *ctx = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE)
				  : NULL;

	return ua_ring_slot_holds_ctx(ctx) ? ctx : NULL;
}

/* Whether fd is the descriptor of one of the process's rings: two loads,
 * cheap enough for every request that names a file. */
bool ua_is_ring_fd(int fd)
{
	return ua_ctx_lookup(fd) != NULL;
}

/*
 * A torn-down ring leaves in its slot, until a new ring takes the number,
 * a mark made of its memfd's inode number: the application closes the
 * descriptor only after the release, and a call in between must fail as
 * one after the close does, with -EBADF, not as on some other file.
 */
static dev_t memfd_dev;	/* every ring's memfd is on the same mount */
static dev_t eventfd_dev;	/* and every eventfd (ua_ring_make_pollable) */

static struct ua_ctx *ring_mark(unsigned long ino)
{
	return (struct ua_ctx *) (uintptr_t) ((ino << 1) | 1);
}

/*
 * The inode number of what fd names. statx() first: ThreadSanitizer
 * treats fstat() on a descriptor another thread may be closing as a data
 * race, and a call racing the close of its ring does exactly that, as the
 * kernel allows. fstat() where statx() is missing or denied.
 */
static int inode_of(int fd, unsigned long *ino, dev_t *dev)
{
	struct statx stx;
	struct stat st;

	if (!statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx)) {
		*ino = stx.stx_ino;
		*dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		return 0;
	}
	if (errno == EBADF || fstat(fd, &st) < 0)
		return -1;
	*ino = st.st_ino;
	*dev = st.st_dev;
	return 0;
}

/* Why a descriptor is not a ring: not open at all, the descriptor of a
 * ring torn down (left is its mark), or some other file. For the entry
 * calls' lookup that failed (ringref.c). */
int ua_ring_lookup_error(int fd, struct ua_ctx *left)
{
	unsigned long ino;
	dev_t dev;

	if (fd < 0 || inode_of(fd, &ino, &dev) < 0)
		return -EBADF;
	if (left && left == ring_mark(ino) &&
	    (dev == __atomic_load_n(&memfd_dev, __ATOMIC_RELAXED) ||
	     dev == __atomic_load_n(&eventfd_dev, __ATOMIC_RELAXED)))
		return -EBADF;
	return -EOPNOTSUPP;
}

/* Acquire: pairs with the release of the put that came before the kill,
 * so a holder sees the ring as the last one left it. */
static bool ctx_tryget(struct ua_ctx *ctx)
{
	unsigned refs = __atomic_load_n(&ctx->refs, __ATOMIC_RELAXED);

	do {
		if (refs & UA_CTX_DEAD)
			return false;
	} while (!__atomic_compare_exchange_n(&ctx->refs, &refs, refs + 1,
					      true, __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED));
	return true;
}

bool ua_ctx_tryget(struct ua_ctx *ctx)
{
	return ctx_tryget(ctx);
}

/* ua_ctx_get() for any thread but the owner outside a call of its own,
 * and the hold a request takes on another ring (msg_ring.c). The scheme
 * is ringref.c's. */
struct ua_ctx *ua_ctx_get_counted(int fd, int *err)
{
	struct ua_ctx **slot = ua_ring_slot(fd);
	struct ua_ctx *ctx = NULL;
	bool held = false;

	ua_rcu_read_lock();
	if (slot)
		ctx = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (ua_ring_slot_holds_ctx(ctx))
		held = ctx_tryget(ctx);
	ua_rcu_read_unlock();
	if (held)
		return ctx;
	*err = ua_ring_slot_holds_ctx(ctx) ? -EBADF
					   : ua_ring_lookup_error(fd, ctx);
	return NULL;
}

/* ringref.c's teardown, handed down at setup for ua_ctx_put_elsewhere(). */
static void (*ring_teardown)(struct ua_ctx *ctx);

void ua_ring_set_teardown(void (*teardown)(struct ua_ctx *ctx))
{
	__atomic_store_n(&ring_teardown, teardown, __ATOMIC_RELAXED);
}

static void *teardown_thread(void *arg)
{
	__atomic_load_n(&ring_teardown, __ATOMIC_RELAXED)(arg);
	return NULL;
}

/*
 * Drops a hold taken by ua_ctx_get_counted() where a teardown must not
 * run: a request's issuer may hold its own ring's uring_lock (the target's
 * teardown would take the target's, in either order between two rings) or,
 * on a submission thread, its group's lock (which the teardown of a ring of
 * the group takes). The last hold of a released ring is rare, so a thread
 * of its own tears it down, with every signal blocked, as the kernel
 * defers the final fput. Should no thread start, the ring stays allocated:
 * a leak, where tearing it down here could deadlock.
 */
void ua_ctx_put_elsewhere(struct ua_ctx *ctx)
{
	if (__atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) != UA_CTX_DEAD)
		return;
	ua_thread_start(teardown_thread, ctx);
}

static int note_inode(int fd, unsigned long *ino, dev_t *fs_dev)
{
	dev_t dev;

	if (inode_of(fd, ino, &dev) < 0)
		return -errno;
	__atomic_store_n(fs_dev, dev, __ATOMIC_RELAXED);
	return 0;
}

/* The ring starts with the table's reference. */
int ua_ctx_install(struct ua_ctx *ctx)
{
	struct ua_ctx **slot = slot_create(ctx->fd);

	if (!slot)
		return -EMFILE;
	ctx->fork_gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	/* A spare's file was looked at when it was new. */
	if (!ctx->ring_ino &&
	    note_inode(ring_memfd(ctx), &ctx->ring_ino, &memfd_dev))
		return -errno;
	ctx->fd_ino = ctx->ring_ino;
	if (ctx->cq_efd >= 0 &&
	    note_inode(ctx->fd, &ctx->fd_ino, &eventfd_dev))
		return -errno;
	ctx->refs = 1;
	ctx->owner = &ua_ring_thread_tag;
	__atomic_store_n(slot, ctx, __ATOMIC_RELEASE);
	return 0;
}

bool ua_ctx_inherited(const struct ua_ctx *ctx)
{
	return ctx->fork_gen != __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
}

/* An inherited ring, uninstalled: kept, never freed (see fork_gen). */
void ua_ctx_keep_relic(struct ua_ctx *ctx)
{
	pthread_mutex_lock(&table_lock);
	ctx->relic_next = relics;
	relics = ctx;
	pthread_mutex_unlock(&table_lock);
}

/* fork() child: every installed ring is now inherited; the lock may have
 * been held by a thread the child does not have. */
void ua_ring_table_atfork_child(void)
{
	pthread_mutex_init(&table_lock, NULL);
	fork_gen++;
	drop_spare_atfork_child();
}

/* Leaves the mark, unless a new ring took the number already. */
void ua_ctx_uninstall(struct ua_ctx *ctx)
{
	struct ua_ctx **slot = ua_ring_slot(ctx->fd);

	if (slot)
		__atomic_compare_exchange_n(slot, &ctx, ring_mark(ctx->fd_ino),
					    false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
}

/*
 * The application closes the ring's descriptor and keeps the ring through
 * a registered index: its number leaves the table as at a teardown, and
 * the engine never uses the descriptor again (it may name another file).
 */
void ua_ctx_detach_fd(struct ua_ctx *ctx)
{
	ua_ctx_uninstall(ctx);
	__atomic_store_n(&ctx->fd, -1, __ATOMIC_RELAXED);
}

static void ctx_free_rcu(struct ua_rcu_head *head)
{
	free((char *) head - offsetof(struct ua_ctx, rcu));
}

/* Out of the table: a lookup may still read it until a grace period. */
void ua_ctx_free_rcu(struct ua_ctx *ctx)
{
	ua_rcu_call(&ctx->rcu, ctx_free_rcu);
}

/*
 * The descriptor of a ring the library sets up is an eventfd, kept
 * readable while CQEs are ready, so that poll(2), select(2) and epoll(7)
 * on it block and wake as on the kernel's ring; the rings' memfd stays the
 * engine's (mem_fd), and the user side maps it (ua_ring_map_fd). No kernel
 * file a container may create is both mappable and of a readiness a
 * process sets (uring-alike(7)). The engine writes its own descriptor of
 * the eventfd: the application may close the number it holds.
 */
_Thread_local bool ua_ring_fds_left_loud UA_TLS_IE;

bool ua_ring_fds_pollable(void)
{
	return __atomic_load_n(&nr_pollable, __ATOMIC_RELAXED);
}

int ua_ring_make_pollable(struct ua_ctx *ctx)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), own, err;

	if (efd < 0)
		return -errno;
	own = fcntl(efd, F_DUPFD_CLOEXEC, 0);
	if (own < 0) {
		err = -errno;
		close(efd);
		return err;
	}
	ctx->mem_fd = ctx->fd;
	ctx->fd = efd;
	ctx->cq_efd = own;
	__atomic_add_fetch(&nr_pollable, 1, __ATOMIC_RELAXED);
	return 0;
}

/* What the kernel's ring reports as POLLIN: a CQE the application has not
 * consumed, or CQEs waiting in overflow. */
static bool cq_ready(const struct ua_ctx *ctx)
{
	return __atomic_load_n(ctx->cq_tail, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(ctx->cq_head, __ATOMIC_ACQUIRE) ||
	       (__atomic_load_n(ctx->sq_flags, __ATOMIC_RELAXED) &
		IORING_SQ_CQ_OVERFLOW);
}

/*
 * A poster, after it published the tail and fenced: the eventfd turns
 * readable. Only the poster that finds it quiet writes, so a CQ that stays
 * non-empty, or one nobody polls (nobody quiets it), costs one load per
 * wakeup and no system call.
 */
void ua_ring_fd_signal(struct ua_ctx *ctx)
{
	int ret;

	if (ctx->cq_efd < 0 ||
	    __atomic_load_n(&ctx->cq_signalled, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&ctx->cq_signalled, 1, __ATOMIC_SEQ_CST))
		return;
	/* Fails only if the application wrote the counter near its limit:
	 * then it is readable already, which is all this write is for. */
	ret = ua_sys_eventfd_signal(ctx->cq_efd);
	(void) ret;
}

/*
 * A poller is about to sleep on the descriptor (ringpoll.c): the CQ the
 * application drained since the eventfd was written must not wake it.
 * Drained first, then marked quiet, then the CQ looked at again: a CQE
 * posted meanwhile either finds the mark and writes, or is seen here
 * (the poster's fence and this one order them) and written for.
 */
void ua_ring_fd_quiet(struct ua_ctx *ctx)
{
	__u64 count;

	if (ctx->cq_efd < 0 ||
	    !__atomic_load_n(&ctx->cq_signalled, __ATOMIC_RELAXED) ||
	    cq_ready(ctx))
		return;
	if (read(ctx->cq_efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	__atomic_store_n(&ctx->cq_signalled, 0, __ATOMIC_SEQ_CST);
	io_uring_smp_mb();
	if (cq_ready(ctx))
		ua_ring_fd_signal(ctx);
}
