/* SPDX-License-Identifier: MIT */
/*
 * link-cp: copy a file with linked read -> write pairs.
 *
 * Each block is one READ linked (IOSQE_IO_LINK) to the WRITE of the same
 * buffer: the write starts only when the read has completed in full. A
 * short read breaks the link and the write completes with -ECANCELED; the
 * pair is then queued again for what is left of the block. Up to QD pairs
 * are in flight at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QD		16
#define BLOCK		(128 * 1024)

struct pair {
	off_t off;		/* where this block starts */
	size_t len;		/* bytes of it still to copy */
	int pending;		/* CQEs of the pair not yet reaped */
	char *buf;
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--help] SRC DST\n"
		"Copy SRC to DST (created or truncated) with io_uring, each\n"
		"block read and then written by a linked pair of requests.\n",
		prog);
}

static int queue_pair(struct io_uring *ring, struct pair *p, int in, int out)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, in, p->buf, (unsigned) p->len, (__u64) p->off);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data(sqe, p);
	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_write(sqe, out, p->buf, (unsigned) p->len, (__u64) p->off);
	/* The write's user_data is the pair with its low bit set. */
	io_uring_sqe_set_data(sqe, (char *) p + 1);
	p->pending = 2;
	return 0;
}

/* One CQE of a pair. After a short read the write is cancelled and nothing
 * of the block was written: the pair is queued again for all of it. A short
 * write leaves its remainder to queue again. */
static int handle_cqe(struct io_uring_cqe *cqe, struct pair **done)
{
	uintptr_t ud = (uintptr_t) io_uring_cqe_get_data(cqe);
	struct pair *p = (struct pair *) (ud & ~(uintptr_t) 1);
	int is_write = ud & 1;

	*done = NULL;
	if (cqe->res < 0 && cqe->res != -ECANCELED)
		return cqe->res;
	if (!is_write && cqe->res == 0)
		return -EIO;		/* SRC shrank while being copied */
	if (is_write && cqe->res > 0) {
		p->off += cqe->res;
		p->len -= (size_t) cqe->res;
	}
	if (--p->pending == 0)
		*done = p;
	return 0;
}

static int copy(int in, int out, off_t size)
{
	struct pair pairs[QD];
	struct io_uring ring;
	off_t next = 0;
	unsigned inflight = 0;
	int ret = io_uring_queue_init(2 * QD, &ring, 0);

	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < QD; i++) {
		pairs[i].buf = malloc(BLOCK);
		if (!pairs[i].buf)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < QD && next < size; i++, inflight++) {
		pairs[i].off = next;
		pairs[i].len = size - next < BLOCK ? (size_t) (size - next) : BLOCK;
		next += (off_t) pairs[i].len;
		queue_pair(&ring, &pairs[i], in, out);
	}
	while (inflight && ret >= 0) {
		struct io_uring_cqe *cqe;
		struct pair *p;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0)
			break;
		ret = handle_cqe(cqe, &p);
		io_uring_cqe_seen(&ring, cqe);
		if (ret < 0 || !p)
			continue;
		if (!p->len && next < size) {	/* block done: take the next */
			p->off = next;
			p->len = size - next < BLOCK ? (size_t) (size - next) : BLOCK;
			next += (off_t) p->len;
		}
		if (p->len)
			ret = queue_pair(&ring, p, in, out);
		else
			inflight--;
	}
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < QD; i++)
		free(pairs[i].buf);
	return ret < 0 ? ret : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	int opt, in, out, ret;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, argv[0]);
			return 0;
		}
		usage(stderr, argv[0]);
		return 2;
	}
	if (argc - optind != 2) {
		usage(stderr, argv[0]);
		return 2;
	}
	in = open(argv[optind], O_RDONLY);
	if (in < 0 || fstat(in, &st) < 0) {
		perror(argv[optind]);
		return 1;
	}
	out = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		perror(argv[optind + 1]);
		return 1;
	}
	ret = copy(in, out, st.st_size);
	if (ret < 0) {
		fprintf(stderr, "link-cp: %s\n", strerror(-ret));
		return 1;
	}
	close(in);
	return close(out) < 0 ? 1 : 0;
}
