/* SPDX-License-Identifier: MIT */
/*
 * Read-only maps of the regular files a ring reads.
 *
 * A cached read through preadv2() or io_submit() is mostly the kernel's
 * copy out of the page cache, plus a system call's entry, the file's
 * lookup and the VFS's checks, every one per read. A MAP_SHARED map of the
 * file shows the same page cache, coherent with every write() to the file,
 * so the engine can make the copy itself: for a batch, one fstat() and one
 * fcntl() per descriptor, then a memcpy() per read.
 *
 * Only what reads through a map as through read() is mapped: a regular
 * file, opened for reading without O_DIRECT, on a local filesystem whose
 * maps show what read() shows (not overlayfs, where a file copied up for
 * writing by another process leaves a map on the old copy; not network
 * filesystems, whose page cache is only revalidated on open and read).
 *
 * A descriptor's number may name another file from one flush to the next:
 * each flush looks its descriptors up again, and a map is found by the
 * file's device and inode, which cannot be reused while the map holds the
 * file. The map also keeps a deleted file's space until the map goes:
 * maps unused for AGE_FLUSHES flushes are unmapped, and all of them with
 * the ring.
 *
 * A page that is not cached makes the copy wait for the device, in the
 * submitter's thread, where preadv2(RWF_NOWAIT) would have handed the read
 * to a worker. A flush whose copies took far longer than copies of cached
 * pages do, and in which the thread took a major fault (getrusage(): a
 * preempted flush is only slow), sends that file the other way for a
 * while, twice as long each time it happens again (uring-alike(7)).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "engine/filemap.h"

#define FD_WORD_BITS	(8 * sizeof(long))
/* Maps unused this long go, and descriptors found not mappable are
 * asked about again (their numbers may name other files by then). */
#define AGE_FLUSHES	4096
/* A map that grew to the file's size again (mremap) only once the file
 * has grown by a quarter, so that a file appended to as it is read is
 * not remapped on every flush; reads past the map go the other way. */
#define GROW_DIVISOR	4
#define MAP_LIMIT	(1ull << 40)
/* A flush of copies took longer than cached pages take: one of them
 * waited for the device. */
#define COLD_NS_PER_COPY	10000u
#define COLD_NS_EXTRA		200000u
#define FIRST_BACKOFF		64u
/* A ring maps files once it has made this many flushes: one that reads a
 * few times would pay more for a map (fstatfs, mmap, page faults, munmap)
 * than its copies save. */
#define SETTLED_FLUSHES		64
#define MAX_BACKOFF		65536u

/* Filesystems whose maps show what read() shows. */
static bool coherent_fs(int fd)
{
	static const long types[] = {
		0xEF53,		/* ext2, ext3, ext4 */
		0x58465342,	/* xfs */
		0x9123683E,	/* btrfs */
		0x01021994,	/* tmpfs */
		0xF2F52010,	/* f2fs */
	};
	struct statfs sf;
	unsigned i;

	if (fstatfs(fd, &sf))
		return false;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((long) sf.f_type == types[i])
			return true;
	return false;
}

static void refuse(struct ua_filemaps *maps, int fd)
{
	if ((unsigned) fd < UA_FILEMAP_FD_BITS)
		maps->unmappable[fd / FD_WORD_BITS] |= 1ul << (fd % FD_WORD_BITS);
}

bool ua_filemaps_refused(const struct ua_filemaps *maps, int fd)
{
	if (maps->flushes < SETTLED_FLUSHES)
		return true;
	return (unsigned) fd < UA_FILEMAP_FD_BITS &&
	       (maps->unmappable[fd / FD_WORD_BITS] & (1ul << (fd % FD_WORD_BITS)));
}

static void unmap(struct ua_filemap *map)
{
	munmap(map->base, map->len);
	memset(map, 0, sizeof(*map));
}

void ua_filemaps_next_flush(struct ua_filemaps *maps)
{
	unsigned i;

	if (++maps->flushes % AGE_FLUSHES)
		return;
	memset(maps->unmappable, 0, sizeof(maps->unmappable));
	for (i = 0; i < UA_FILEMAP_SLOTS; i++)
		if (maps->slot[i].base &&
		    maps->slot[i].last_used + AGE_FLUSHES < maps->flushes)
			unmap(&maps->slot[i]);
}

static size_t page_round(__u64 size)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);

	return (size_t) ((size + page - 1) & ~((__u64) page - 1));
}

/* A free slot, or the one used longest ago, emptied. */
static struct ua_filemap *free_slot(struct ua_filemaps *maps)
{
	struct ua_filemap *oldest = &maps->slot[0];
	unsigned i;

	for (i = 0; i < UA_FILEMAP_SLOTS; i++) {
		if (!maps->slot[i].base)
			return &maps->slot[i];
		if (maps->slot[i].last_used < oldest->last_used)
			oldest = &maps->slot[i];
	}
	unmap(oldest);
	return oldest;
}

/*
 * After mlockall(MCL_FUTURE) every new map is locked, and mmap() reads the
 * whole file in: a map of a large file would then cost the device time
 * and memory that no read asked for. A fresh anonymous page is resident
 * at once only then (mincore() tells, without /proc).
 */
static bool new_maps_locked(void)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	unsigned char resident = 1;
	void *probe = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);

	if (probe == MAP_FAILED)
		return true;
	if (mincore(probe, page, &resident))
		resident = 1;
	munmap(probe, page);
	return resident & 1;
}

static struct ua_filemap *new_map(struct ua_filemaps *maps, int fd,
				  const struct stat *st)
{
	struct ua_filemap *map;
	size_t len = page_round((__u64) st->st_size);
	void *base;

	if (!len || (__u64) st->st_size > MAP_LIMIT || !coherent_fs(fd) ||
	    new_maps_locked())
		return NULL;
	base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return NULL;
	map = free_slot(maps);
	map->dev = st->st_dev;
	map->ino = st->st_ino;
	map->base = base;
	map->len = len;
	map->backoff = FIRST_BACKOFF;
	return map;
}

/* The file has grown by GROW_DIVISOR or more: the map follows it. */
static void grow(struct ua_filemap *map, __u64 size)
{
	size_t len = page_round(size);
	void *base;

	if (size > MAP_LIMIT || len - map->len < map->len / GROW_DIVISOR)
		return;
	base = mremap(map->base, map->len, len, MREMAP_MAYMOVE);
	if (base == MAP_FAILED)
		return;
	map->base = base;
	map->len = len;
}

static struct ua_filemap *find_map(struct ua_filemaps *maps,
				   const struct stat *st)
{
	unsigned i;

	for (i = 0; i < UA_FILEMAP_SLOTS; i++)
		if (maps->slot[i].base && maps->slot[i].dev == st->st_dev &&
		    maps->slot[i].ino == st->st_ino)
			return &maps->slot[i];
	return NULL;
}

/* Readable as read() reads it: not O_PATH, O_WRONLY or O_DIRECT. */
static bool reads_buffered(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && !(fl & (O_PATH | O_DIRECT)) &&
	       ((fl & O_ACCMODE) == O_RDONLY || (fl & O_ACCMODE) == O_RDWR);
}

void ua_filemap_view(struct ua_filemaps *maps, int fd,
		     struct ua_filemap_view *v)
{
	struct stat st;
	struct ua_filemap *map;

	v->fd = fd;
	v->map = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !reads_buffered(fd)) {
		refuse(maps, fd);
		return;
	}
	map = find_map(maps, &st);
	if (!map)
		map = new_map(maps, fd, &st);
	if (!map) {
		refuse(maps, fd);
		return;
	}
	if ((__u64) st.st_size > map->len)
		grow(map, (__u64) st.st_size);
	map->last_used = maps->flushes;
	if (map->cold_skip) {
		map->cold_skip--;
		return;
	}
	v->map = map;
	v->size = (__u64) st.st_size;
}

const char *ua_filemap_span(const struct ua_filemap_view *v, __u64 off,
			    size_t len, size_t *n)
{
	if (off >= v->size) {
		*n = 0;
		return v->map->base;
	}
	*n = v->size - off < len ? (size_t) (v->size - off) : len;
	if (off + *n > v->map->len)
		return NULL;
	return v->map->base + off;
}

/* The major faults this thread had taken when it last asked. */
static __thread __u64 major_faults_seen;

static bool thread_faults(__u64 *minor, __u64 *major)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return false;
	*minor = (__u64) ru.ru_minflt;
	*major = (__u64) ru.ru_majflt;
	major_faults_seen = *major;
	return true;
}

/* A slow flush waited for the device if the thread took a major fault
 * since it last asked; otherwise it was only preempted. When that cannot
 * be told, it is taken to have waited. */
static bool waited_for_device(void)
{
	__u64 seen = major_faults_seen, minor, major;

	return !thread_faults(&minor, &major) || major != seen;
}

bool ua_filemap_note_copies(struct ua_filemap *map, unsigned copies,
			    __u64 ns)
{
	if (ns <= (__u64) copies * COLD_NS_PER_COPY + COLD_NS_EXTRA ||
	    !waited_for_device()) {
		if (map->backoff > FIRST_BACKOFF)
			map->backoff /= 2;
		return true;
	}
	map->cold_skip = map->backoff;
	if (map->backoff < MAX_BACKOFF)
		map->backoff *= 2;
	return false;
}

__u64 ua_filemap_thread_faults(void)
{
	__u64 minor, major;

	if (!thread_faults(&minor, &major))
		return UA_FILEMAP_FAULTS_UNKNOWN;
	return minor + major;
}

void ua_filemaps_release(struct ua_filemaps *maps)
{
	unsigned i;

	for (i = 0; i < UA_FILEMAP_SLOTS; i++)
		if (maps->slot[i].base)
			unmap(&maps->slot[i]);
}
