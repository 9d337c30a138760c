/* SPDX-License-Identifier: MIT */
/*
 * uv-bench: the file workloads of uring-bench on libuv's thread pool, as a
 * peer. Same command line for the modes it has, same output line:
 *   --mode read [--direct]  random --bs reads (default 4 KiB), --qd in flight
 *   --mode write            sequential 64 KiB writes over the first 64 MiB,
 *                           --qd (default 8) in flight
 *   --mode fsync            --inflight (default 16) chains of a 4 KiB write
 *                           followed by uv_fs_fdatasync
 * Built by `make bench` only where <uv.h> is installed (libuv1-dev).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define WRITE_SPAN	(64ull << 20)
#define FSYNC_BLOCK	4096u
#define MAX_SLOTS	4096

enum mode { MODE_READ, MODE_WRITE, MODE_FSYNC };

struct slot {
	uv_fs_t		req;
	uv_buf_t	buf;
	unsigned	index;
	int		syncing;	/* fsync: the write is done */
};

static struct {
	enum mode	mode;
	unsigned	qd, bs;
	int		fd;
	uint64_t	blocks, rng, next;
	double		deadline;
	unsigned long long ops;
	struct slot	slots[MAX_SLOTS];
	uv_loop_t	*loop;
} b;

static void die(const char *what, int err)
{
	fprintf(stderr, "uv-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static uint64_t next_random(void)
{
	b.rng ^= b.rng << 13;
	b.rng ^= b.rng >> 7;
	b.rng ^= b.rng << 17;
	return b.rng;
}

static void on_done(uv_fs_t *req);

/* Starts the slot's next request, unless time is up. */
static void start(struct slot *s)
{
	int64_t off;
	int ret;

	if (now() >= b.deadline)
		return;
	switch (b.mode) {
	case MODE_READ:
		off = (int64_t) ((next_random() % b.blocks) * b.bs);
		ret = uv_fs_read(b.loop, &s->req, b.fd, &s->buf, 1, off, on_done);
		break;
	case MODE_WRITE:
		off = (int64_t) b.next;
		b.next = (b.next + b.bs) % WRITE_SPAN;
		ret = uv_fs_write(b.loop, &s->req, b.fd, &s->buf, 1, off, on_done);
		break;
	default:
		s->syncing = 0;
		ret = uv_fs_write(b.loop, &s->req, b.fd, &s->buf, 1,
				  (int64_t) s->index * FSYNC_BLOCK, on_done);
		break;
	}
	if (ret < 0)
		die("uv_fs", -ret);
}

static void on_done(uv_fs_t *req)
{
	struct slot *s = (struct slot *) req;
	ssize_t res = req->result;

	uv_fs_req_cleanup(req);
	if (res < 0)
		die("request", (int) -res);
	if (b.mode == MODE_FSYNC && !s->syncing) {
		s->syncing = 1;
		if (uv_fs_fdatasync(b.loop, &s->req, b.fd, on_done) < 0)
			die("uv_fs_fdatasync", EIO);
		return;
	}
	if (b.mode != MODE_FSYNC && (size_t) res != s->buf.len) {
		fprintf(stderr, "uv-bench: short transfer\n");
		exit(1);
	}
	b.ops++;
	start(s);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "qd", required_argument, NULL, 'q' },
		{ "bs", required_argument, NULL, 'b' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 's' },
		{ "direct", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *mode = "read";
	unsigned qd = 0, bs = 0, inflight = 16, n, i;
	double seconds = 2, t0;
	int opt, direct = 0, flags;
	struct stat st;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'f': file = optarg; break;
		case 'q': qd = (unsigned) atoi(optarg); break;
		case 'b': bs = (unsigned) atoi(optarg); break;
		case 'i': inflight = (unsigned) atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'D': direct = 1; break;
		default: return 2;
		}
	}
	if (!file || seconds <= 0)
		return 2;
	if (!strcmp(mode, "read")) {
		b.mode = MODE_READ;
		n = qd ? qd : 32;
		b.bs = bs ? bs : 4096;
		flags = O_RDONLY | (direct ? O_DIRECT : 0);
	} else if (!strcmp(mode, "write")) {
		b.mode = MODE_WRITE;
		n = qd ? qd : 8;
		b.bs = bs ? bs : 65536;
		flags = O_WRONLY | O_CREAT;
	} else if (!strcmp(mode, "fsync")) {
		b.mode = MODE_FSYNC;
		n = inflight;
		b.bs = FSYNC_BLOCK;
		flags = O_WRONLY | O_CREAT;
	} else {
		return 2;
	}
	if (n == 0 || n > MAX_SLOTS)
		return 2;
	b.fd = open(file, flags, 0644);
	if (b.fd < 0 || fstat(b.fd, &st) < 0)
		die(file, errno);
	b.blocks = (uint64_t) st.st_size / b.bs;
	if (b.mode == MODE_READ && !b.blocks)
		die(file, EINVAL);
	b.rng = 0x9e3779b97f4a7c15ull;
	b.loop = uv_default_loop();
	for (i = 0; i < n; i++) {
		void *mem;

		if (posix_memalign(&mem, 4096, b.bs))
			die("buffers", ENOMEM);
		memset(mem, 'u', b.bs);
		b.slots[i].buf = uv_buf_init(mem, b.bs);
		b.slots[i].index = i;
	}
	t0 = now();
	b.deadline = t0 + seconds;
	for (i = 0; i < n; i++)
		start(&b.slots[i]);
	uv_run(b.loop, UV_RUN_DEFAULT);
	t0 = now() - t0;
	printf("mode=%s ops=%llu secs=%.2f ops_per_sec=%.0f\n", mode, b.ops,
	       t0, (double) b.ops / t0);
	return 0;
}
