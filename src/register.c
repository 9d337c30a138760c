/* SPDX-License-Identifier: MIT */
/* Registration helpers: thin wrappers over io_uring_register(). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "liburing.h"
#include "ua_private.h"
#include "ua_ring.h"

int ua_ring_register(struct io_uring *ring, unsigned opcode, const void *arg,
		     unsigned nr_args)
{
	if (ring->int_flags & UA_INT_FLAG_REG_REG_RING)
		return io_uring_register((unsigned) ring->enter_ring_fd,
					 opcode | IORING_REGISTER_USE_REGISTERED_RING,
					 arg, nr_args);
	return io_uring_register((unsigned) ring->ring_fd, opcode, arg,
				 nr_args);
}

/* For the calls whose success liburing reports as 0, not as a count. */
static int do_register(struct io_uring *ring, unsigned opcode,
		       const void *arg, unsigned nr)
{
	int ret = ua_ring_register(ring, opcode, arg, nr);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_register_buffers(struct io_uring *ring,
					const struct iovec *iovecs,
					unsigned nr_iovecs)
{
	return do_register(ring, IORING_REGISTER_BUFFERS, iovecs, nr_iovecs);
}

UA_PUBLIC int io_uring_unregister_buffers(struct io_uring *ring)
{
	return do_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
}

UA_PUBLIC int io_uring_register_iowq_max_workers(struct io_uring *ring,
						 unsigned int *values)
{
	return ua_ring_register(ring, IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
}

UA_PUBLIC int io_uring_enable_rings(struct io_uring *ring)
{
	return ua_ring_register(ring, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
}

UA_PUBLIC int io_uring_register_buf_ring(struct io_uring *ring,
					 struct io_uring_buf_reg *reg,
					 unsigned int flags)
{
	reg->flags |= (__u16) flags;
	return ua_ring_register(ring, IORING_REGISTER_PBUF_RING,
				 reg, 1);
}

UA_PUBLIC int io_uring_unregister_buf_ring(struct io_uring *ring, int bgid)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.bgid = (__u16) bgid;
	return ua_ring_register(ring, IORING_UNREGISTER_PBUF_RING,
				 &reg, 1);
}

static size_t buf_ring_size(unsigned int nentries)
{
	return nentries * sizeof(struct io_uring_buf);
}

/* The engine allocates the ring; map it from the rings' descriptor at
 * the kernel's offset. */
static struct io_uring_buf_ring *map_engine_buf_ring(struct io_uring *ring,
						    unsigned int nentries,
						    int bgid)
{
	off_t off = (off_t) (IORING_OFF_PBUF_RING |
			     ((__u64) (__u16) bgid << IORING_OFF_PBUF_SHIFT));
	int fd = ua_ring_register(ring, UA_REGISTER_MAP_FD, NULL, 0);
	void *br;

	if (fd < 0)
		return NULL;
	br = mmap(NULL, buf_ring_size(nentries), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, off);
	return br == MAP_FAILED ? NULL : br;
}

/*
 * A ring of provided buffers, registered: in fresh anonymous memory, or
 * with IOU_PBUF_RING_MMAP in memory the engine allocates.
 */
UA_PUBLIC struct io_uring_buf_ring *
io_uring_setup_buf_ring(struct io_uring *ring, unsigned int nentries,
			int bgid, unsigned int flags, int *err)
{
	bool engine_mem = flags & IOU_PBUF_RING_MMAP;
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br = NULL;
	int ret;

	memset(&reg, 0, sizeof(reg));
	if (!engine_mem) {
		br = mmap(NULL, buf_ring_size(nentries), PROT_READ | PROT_WRITE,
			  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
		if (br == MAP_FAILED) {
			*err = -errno;
			return NULL;
		}
		reg.ring_addr = (unsigned long) (uintptr_t) br;
	}
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	reg.flags = (__u16) flags;
	ret = ua_ring_register(ring, IORING_REGISTER_PBUF_RING,
				&reg, 1);
	if (!ret && engine_mem) {
		br = map_engine_buf_ring(ring, nentries, bgid);
		if (!br) {
			ret = -errno;
			io_uring_unregister_buf_ring(ring, bgid);
		}
	}
	if (ret) {
		if (br && !engine_mem)
			munmap(br, buf_ring_size(nentries));
		*err = ret;
		return NULL;
	}
	io_uring_buf_ring_init(br);
	return br;
}

/* Where the engine's head of a buffer ring is (IORING_REGISTER_PBUF_STATUS):
 * the entries before it have been used. */
UA_PUBLIC int io_uring_buf_ring_head(struct io_uring *ring, int buf_group,
				     uint16_t *head)
{
	struct io_uring_buf_status st;
	int ret;

	memset(&st, 0, sizeof(st));
	st.buf_group = (__u32) buf_group;
	ret = ua_ring_register(ring, IORING_REGISTER_PBUF_STATUS,
				&st, 1);
	if (ret)
		return ret;
	*head = (uint16_t) st.head;
	return 0;
}

UA_PUBLIC int io_uring_free_buf_ring(struct io_uring *ring,
				     struct io_uring_buf_ring *br,
				     unsigned int nentries, int bgid)
{
	int ret = io_uring_unregister_buf_ring(ring, bgid);

	if (ret)
		return ret;
	munmap(br, buf_ring_size(nentries));
	return 0;
}

UA_PUBLIC int io_uring_register_probe(struct io_uring *ring,
				      struct io_uring_probe *p, unsigned nr)
{
	return ua_ring_register(ring, IORING_REGISTER_PROBE, p, nr);
}

UA_PUBLIC int io_uring_register_eventfd(struct io_uring *ring, int fd)
{
	return do_register(ring, IORING_REGISTER_EVENTFD, &fd, 1);
}

UA_PUBLIC int io_uring_register_eventfd_async(struct io_uring *ring, int fd)
{
	return do_register(ring, IORING_REGISTER_EVENTFD_ASYNC, &fd, 1);
}

UA_PUBLIC int io_uring_unregister_eventfd(struct io_uring *ring)
{
	return do_register(ring, IORING_UNREGISTER_EVENTFD, NULL, 0);
}

UA_PUBLIC int io_uring_register_sync_cancel(struct io_uring *ring,
					    struct io_uring_sync_cancel_reg *reg)
{
	return ua_ring_register(ring, IORING_REGISTER_SYNC_CANCEL,
				 reg, 1);
}

/*
 * Registered files cost this process a descriptor each (see uring-alike(7)):
 * like liburing, raise the soft RLIMIT_NOFILE once when the table does not
 * fit, then try again.
 */
static bool raise_nofile_limit(unsigned nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return false;
	rl.rlim_cur = rl.rlim_cur + nr < rl.rlim_max ? rl.rlim_cur + nr
						     : rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

static int register_files_retry(struct io_uring *ring, unsigned opcode,
				const void *arg, unsigned nr_args, unsigned nr)
{
	int ret = ua_ring_register(ring, opcode, arg, nr_args);

	if (ret == -EMFILE && raise_nofile_limit(nr))
		ret = ua_ring_register(ring, opcode, arg, nr_args);
	return ret;
}

UA_PUBLIC int io_uring_register_files(struct io_uring *ring, const int *files,
				      unsigned nr_files)
{
	return register_files_retry(ring, IORING_REGISTER_FILES, files,
				    nr_files, nr_files);
}

UA_PUBLIC int io_uring_register_files_tags(struct io_uring *ring,
					   const int *files, const __u64 *tags,
					   unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.data = (__u64) (uintptr_t) files,
		.tags = (__u64) (uintptr_t) tags,
	};

	return register_files_retry(ring, IORING_REGISTER_FILES2, &reg,
				    sizeof(reg), nr);
}

UA_PUBLIC int io_uring_register_files_sparse(struct io_uring *ring,
					     unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.flags = IORING_RSRC_REGISTER_SPARSE,
	};

	return register_files_retry(ring, IORING_REGISTER_FILES2, &reg,
				    sizeof(reg), nr);
}

UA_PUBLIC int io_uring_register_files_update(struct io_uring *ring,
					     unsigned off, const int *files,
					     unsigned nr_files)
{
	struct io_uring_files_update up = {
		.offset = off,
		.fds = (__u64) (uintptr_t) files,
	};

	return ua_ring_register(ring, IORING_REGISTER_FILES_UPDATE,
				 &up, nr_files);
}

UA_PUBLIC int io_uring_register_files_update_tag(struct io_uring *ring,
						 unsigned off, const int *files,
						 const __u64 *tags,
						 unsigned nr_files)
{
	struct io_uring_rsrc_update2 up = {
		.offset = off,
		.data = (__u64) (uintptr_t) files,
		.tags = (__u64) (uintptr_t) tags,
		.nr = nr_files,
	};

	return ua_ring_register(ring, IORING_REGISTER_FILES_UPDATE2,
				 &up, sizeof(up));
}

UA_PUBLIC int io_uring_unregister_files(struct io_uring *ring)
{
	return ua_ring_register(ring, IORING_UNREGISTER_FILES,
				 NULL, 0);
}

UA_PUBLIC int io_uring_register_file_alloc_range(struct io_uring *ring,
						 unsigned off, unsigned len)
{
	struct io_uring_file_index_range range = {
		.off = off,
		.len = len,
	};

	return ua_ring_register(ring, IORING_REGISTER_FILE_ALLOC_RANGE, &range, 0);
}

UA_PUBLIC int io_uring_register_buffers_tags(struct io_uring *ring,
					     const struct iovec *iovecs,
					     const __u64 *tags, unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.data = (__u64) (uintptr_t) iovecs,
		.tags = (__u64) (uintptr_t) tags,
	};

	return ua_ring_register(ring, IORING_REGISTER_BUFFERS2, &reg,
				sizeof(reg));
}

UA_PUBLIC int io_uring_register_buffers_sparse(struct io_uring *ring,
					       unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.flags = IORING_RSRC_REGISTER_SPARSE,
	};

	return ua_ring_register(ring, IORING_REGISTER_BUFFERS2, &reg,
				sizeof(reg));
}

UA_PUBLIC int io_uring_register_buffers_update_tag(struct io_uring *ring,
						   unsigned off,
						   const struct iovec *iovecs,
						   const __u64 *tags,
						   unsigned nr)
{
	struct io_uring_rsrc_update2 up = {
		.offset = off,
		.data = (__u64) (uintptr_t) iovecs,
		.tags = (__u64) (uintptr_t) tags,
		.nr = nr,
	};

	return ua_ring_register(ring, IORING_REGISTER_BUFFERS_UPDATE, &up,
				sizeof(up));
}

/* The source ring is named by its registered index when both sides allow
 * it, else by its descriptor. */
UA_PUBLIC int __io_uring_clone_buffers_offset(struct io_uring *dst,
					      struct io_uring *src,
					      unsigned int dst_off,
					      unsigned int src_off,
					      unsigned int nr,
					      unsigned int flags)
{
	struct io_uring_clone_buffers buf = {
		.src_fd = (__u32) src->ring_fd,
		.flags = flags & ~IORING_REGISTER_SRC_REGISTERED,
		.src_off = src_off,
		.dst_off = dst_off,
		.nr = nr,
	};

	if ((flags & IORING_REGISTER_SRC_REGISTERED) &&
	    (src->int_flags & UA_INT_FLAG_REG_REG_RING)) {
		buf.src_fd = (__u32) src->enter_ring_fd;
		buf.flags |= IORING_REGISTER_SRC_REGISTERED;
	}
	return ua_ring_register(dst, IORING_REGISTER_CLONE_BUFFERS, &buf, 1);
}

UA_PUBLIC int io_uring_clone_buffers_offset(struct io_uring *dst,
					    struct io_uring *src,
					    unsigned int dst_off,
					    unsigned int src_off,
					    unsigned int nr, unsigned int flags)
{
	return __io_uring_clone_buffers_offset(dst, src, dst_off, src_off, nr,
				flags | IORING_REGISTER_SRC_REGISTERED);
}

UA_PUBLIC int __io_uring_clone_buffers(struct io_uring *dst,
				       struct io_uring *src,
				       unsigned int flags)
{
	return __io_uring_clone_buffers_offset(dst, src, 0, 0, 0, flags);
}

UA_PUBLIC int io_uring_clone_buffers(struct io_uring *dst,
				     struct io_uring *src)
{
	return __io_uring_clone_buffers(dst, src,
					IORING_REGISTER_SRC_REGISTERED);
}

UA_PUBLIC int io_uring_register_personality(struct io_uring *ring)
{
	return ua_ring_register(ring, IORING_REGISTER_PERSONALITY, NULL, 0);
}

UA_PUBLIC int io_uring_unregister_personality(struct io_uring *ring, int id)
{
	return ua_ring_register(ring, IORING_UNREGISTER_PERSONALITY, NULL,
				(unsigned) id);
}

UA_PUBLIC int io_uring_register_restrictions(struct io_uring *ring,
					     struct io_uring_restriction *res,
					     unsigned int nr_res)
{
	return do_register(ring, IORING_REGISTER_RESTRICTIONS, res, nr_res);
}

UA_PUBLIC int io_uring_register_iowq_aff(struct io_uring *ring, size_t cpusz,
					 const cpu_set_t *mask)
{
	if (cpusz >= (1U << 31))
		return -EINVAL;
	return do_register(ring, IORING_REGISTER_IOWQ_AFF, mask,
			   (unsigned) cpusz);
}

UA_PUBLIC int io_uring_unregister_iowq_aff(struct io_uring *ring)
{
	return do_register(ring, IORING_UNREGISTER_IOWQ_AFF, NULL, 0);
}

UA_PUBLIC int io_uring_register_napi(struct io_uring *ring,
				     struct io_uring_napi *napi)
{
	return ua_ring_register(ring, IORING_REGISTER_NAPI, napi, 1);
}

UA_PUBLIC int io_uring_unregister_napi(struct io_uring *ring,
				       struct io_uring_napi *napi)
{
	return ua_ring_register(ring, IORING_UNREGISTER_NAPI, napi, 1);
}

UA_PUBLIC int io_uring_register_clock(struct io_uring *ring,
				      struct io_uring_clock_register *arg)
{
	return ua_ring_register(ring, IORING_REGISTER_CLOCK, arg, 0);
}

UA_PUBLIC int io_uring_register_ifq(struct io_uring *ring,
				    struct io_uring_zcrx_ifq_reg *reg)
{
	return ua_ring_register(ring, IORING_REGISTER_ZCRX_IFQ, reg, 1);
}

UA_PUBLIC int io_uring_register_zcrx_ctrl(struct io_uring *ring,
					  struct zcrx_ctrl *ctrl)
{
	return ua_ring_register(ring, IORING_REGISTER_ZCRX_CTRL, ctrl, 0);
}

UA_PUBLIC int io_uring_register_region(struct io_uring *ring,
				       struct io_uring_mem_region_reg *reg)
{
	return ua_ring_register(ring, IORING_REGISTER_MEM_REGION, reg, 1);
}

/* Wait arguments are registered in a region (io_uring_register_region with
 * IORING_MEM_REGION_REG_WAIT_ARG); this older way is gone, as in liburing. */
UA_PUBLIC int io_uring_register_wait_reg(struct io_uring *ring,
					 struct io_uring_reg_wait *reg, int nr)
{
	(void) ring;
	(void) reg;
	(void) nr;
	return -EINVAL;
}

UA_PUBLIC int io_uring_register_bpf_filter(struct io_uring *ring,
					   struct io_uring_bpf *bpf)
{
	return ua_ring_register(ring, IORING_REGISTER_BPF_FILTER, bpf, 1);
}

/* The calls that need no ring: descriptor -1. */
UA_PUBLIC int io_uring_register_bpf_filter_task(struct io_uring_bpf *bpf)
{
	return io_uring_register((unsigned) -1, IORING_REGISTER_BPF_FILTER,
				 bpf, 1);
}

UA_PUBLIC int io_uring_register_query(struct io_uring_query_hdr *query)
{
	return io_uring_register((unsigned) -1, IORING_REGISTER_QUERY, query,
				 0);
}

UA_PUBLIC int io_uring_register_sync_msg(struct io_uring_sqe *sqe)
{
	return io_uring_register((unsigned) -1, IORING_REGISTER_SEND_MSG_RING,
				 sqe, 1);
}

/*
 * The ring in the calling thread's table of registered rings: enters and
 * registrations then name it by index (IORING_ENTER_REGISTERED_RING), and
 * need no descriptor lookup. Returns 1, as the kernel's count.
 */
UA_PUBLIC int io_uring_register_ring_fd(struct io_uring *ring)
{
	struct io_uring_rsrc_update up = {
		.offset = -1U,
		.data = (__u64) ring->ring_fd,
	};
	int ret;

	if (ring->int_flags & UA_INT_FLAG_REG_RING)
		return -EEXIST;
	ret = ua_ring_register(ring, IORING_REGISTER_RING_FDS, &up, 1);
	if (ret != 1)
		return ret;
	ring->enter_ring_fd = (int) up.offset;
	ring->int_flags |= UA_INT_FLAG_REG_RING;
	if (ring->features & IORING_FEAT_REG_REG_RING)
		ring->int_flags |= UA_INT_FLAG_REG_REG_RING;
	return ret;
}

UA_PUBLIC int io_uring_unregister_ring_fd(struct io_uring *ring)
{
	struct io_uring_rsrc_update up = {
		.offset = (__u32) ring->enter_ring_fd,
	};
	int ret;

	if (!(ring->int_flags & UA_INT_FLAG_REG_RING))
		return -EINVAL;
	ret = ua_ring_register(ring, IORING_UNREGISTER_RING_FDS, &up, 1);
	if (ret != 1)
		return ret;
	ring->enter_ring_fd = ring->ring_fd;
	ring->int_flags &= (__u8) ~(UA_INT_FLAG_REG_RING |
				    UA_INT_FLAG_REG_REG_RING);
	return ret;
}

/* The descriptor goes; the registered index keeps the ring reachable. */
UA_PUBLIC int io_uring_close_ring_fd(struct io_uring *ring)
{
	if (!(ring->features & IORING_FEAT_REG_REG_RING))
		return -EOPNOTSUPP;
	if (!(ring->int_flags & UA_INT_FLAG_REG_RING))
		return -EINVAL;
	if (ring->ring_fd == -1)
		return -EBADF;
	/* The engine forgets the number first: it may name another file
	 * once closed. */
	ua_ring_register(ring, UA_REGISTER_DETACH_FD, NULL, 0);
	close(ring->ring_fd);
	ring->ring_fd = -1;
	return 1;
}

UA_PUBLIC int io_uring_set_iowait(struct io_uring *ring, bool enable_iowait)
{
	if (!(ring->features & IORING_FEAT_NO_IOWAIT))
		return -EOPNOTSUPP;
	if (enable_iowait)
		ring->int_flags &= (__u8) ~UA_INT_FLAG_NO_IOWAIT;
	else
		ring->int_flags |= UA_INT_FLAG_NO_IOWAIT;
	return 0;
}
