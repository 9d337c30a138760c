/* SPDX-License-Identifier: MIT */
/*
 * echo-server: a TCP echo server on one ring, the way liburing programs are
 * written for many connections.
 *
 *   - one multishot ACCEPT on the listening socket;
 *   - per connection, one multishot RECV taking buffers from a ring of
 *     provided buffers: an idle connection holds no buffer and no request
 *     has to be resubmitted per message;
 *   - a SEND of each received buffer, in order, after which the buffer goes
 *     back to the ring.
 *
 * The same source builds against uring-alike and against liburing (the
 * kernel's io_uring); `make bench` runs both against an epoll server with
 * examples/echo-client. It listens on 127.0.0.1 and prints the port it got,
 * so `--port 0` picks a free one.
 */
#include <errno.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS		4096
#define BGID		0

enum { UD_ACCEPT = 1, UD_RECV, UD_SEND };

struct options {
	unsigned short port;
	unsigned flags;		/* setup flags of the mode */
	unsigned entries;
	unsigned nbufs;		/* power of two */
	unsigned buf_size;
};

/* Per connection: the buffers received and not yet echoed, in order. */
struct conn {
	int head, tail;		/* buffer IDs, -1: none */
	unsigned sent;		/* bytes of head already sent */
	bool sending;
	bool recv_done;		/* the multishot receive has ended */
	bool open;
};

struct server {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *bufs;
	int *buf_next;		/* per buffer: the next one of its conn */
	unsigned *buf_len;
	unsigned nbufs, buf_size;
	int pending_bufs;	/* added to the ring, not yet published */
	int lfd;
	struct conn conns[MAX_FDS];
};

static volatile sig_atomic_t stop;

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--port P] [--mode default|coop|defer] [--entries N]\n"
		"          [--bufs N] [--buf-size BYTES]\n"
		"\n"
		"TCP echo server on 127.0.0.1: multishot accept, multishot recv\n"
		"into a ring of provided buffers, send.\n"
		"\n"
		"  --port P         port to listen on (default 0: any free one;\n"
		"                   the port is printed on standard output)\n"
		"  --mode M         default: no setup flags;\n"
		"                   coop:    IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG;\n"
		"                   defer:   IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN\n"
		"  --entries N      SQ entries (default 256)\n"
		"  --bufs N         provided buffers, a power of two (default 1024)\n"
		"  --buf-size B     bytes per buffer (default 2048)\n"
		"  -h, --help       show this help and exit\n"
		"\n"
		"Drive it with: examples/echo-client --port P [--conns N] [--size B]\n"
		"Stops on SIGINT or SIGTERM.\n", prog);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "echo-server: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static unsigned parse_uint(const char *s, const char *what, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "echo-server: bad %s: %s\n", what, s);
		exit(2);
	}
	return (unsigned) v;
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "entries", required_argument, NULL, 'e' },
		{ "bufs", required_argument, NULL, 'b' },
		{ "buf-size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->port = 0;
	o->flags = 0;
	o->entries = 256;
	o->nbufs = 1024;
	o->buf_size = 2048;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->port = (unsigned short) parse_uint(optarg, "port", 65535);
			break;
		case 'm':
			if (!strcmp(optarg, "default"))
				o->flags = 0;
			else if (!strcmp(optarg, "coop"))
				o->flags = IORING_SETUP_COOP_TASKRUN |
					   IORING_SETUP_TASKRUN_FLAG;
			else if (!strcmp(optarg, "defer"))
				o->flags = IORING_SETUP_SINGLE_ISSUER |
					   IORING_SETUP_DEFER_TASKRUN;
			else {
				fprintf(stderr, "echo-server: bad mode: %s\n", optarg);
				exit(2);
			}
			break;
		case 'e':
			o->entries = parse_uint(optarg, "entries", 32768);
			break;
		case 'b':
			o->nbufs = parse_uint(optarg, "bufs", 32768);
			break;
		case 's':
			o->buf_size = parse_uint(optarg, "buf-size", 1 << 20);
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			exit(2);
		}
	}
	if (optind != argc || !o->entries || !o->buf_size ||
	    !o->nbufs || (o->nbufs & (o->nbufs - 1))) {
		usage(stderr, argv[0]);
		exit(2);
	}
}

static struct io_uring_sqe *get_sqe(struct server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		/* The SQ is full: hand it over and take a fresh slot. */
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
	}
	return sqe;
}

static __u64 ud(int type, int fd, int bid)
{
	return ((__u64) type << 56) | ((__u64) (unsigned) fd << 16) |
	       (__u64) (unsigned short) bid;
}

static void arm_accept(struct server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_multishot_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud(UD_ACCEPT, s->lfd, 0));
}

static void arm_recv(struct server *s, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud(UD_RECV, fd, 0));
}

static char *buf_addr(struct server *s, int bid)
{
	return s->bufs + (size_t) bid * s->buf_size;
}

/* Gives a buffer back; published once per batch of CQEs. */
static void recycle(struct server *s, int bid)
{
	io_uring_buf_ring_add(s->br, buf_addr(s, bid), s->buf_size,
			      (unsigned short) bid,
			      io_uring_buf_ring_mask(s->nbufs), s->pending_bufs++);
}

static void send_head(struct server *s, int fd)
{
	struct conn *c = &s->conns[fd];
	struct io_uring_sqe *sqe = get_sqe(s);
	int bid = c->head;

	io_uring_prep_send(sqe, fd, buf_addr(s, bid) + c->sent,
			   s->buf_len[bid] - c->sent, 0);
	io_uring_sqe_set_data64(sqe, ud(UD_SEND, fd, bid));
	c->sending = true;
}

static void maybe_close(struct server *s, int fd)
{
	struct conn *c = &s->conns[fd];

	if (c->open && c->recv_done && !c->sending) {
		while (c->head >= 0) {
			int bid = c->head;

			c->head = s->buf_next[bid];
			recycle(s, bid);
		}
		c->open = false;
		close(fd);
	}
}

static void on_accept(struct server *s, struct io_uring_cqe *cqe)
{
	int fd = cqe->res, one = 1;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		arm_accept(s);
	if (fd < 0)
		return;
	if (fd >= MAX_FDS) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->conns[fd] = (struct conn) { .head = -1, .tail = -1, .open = true };
	arm_recv(s, fd);
}

static void on_recv(struct server *s, struct io_uring_cqe *cqe, int fd)
{
	struct conn *c = &s->conns[fd];

	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		int bid = (int) (cqe->flags >> IORING_CQE_BUFFER_SHIFT);

		s->buf_len[bid] = (unsigned) cqe->res;
		s->buf_next[bid] = -1;
		if (c->tail >= 0)
			s->buf_next[c->tail] = bid;
		else
			c->head = bid;
		c->tail = bid;
		if (!c->sending) {
			c->sent = 0;
			send_head(s, fd);
		}
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	/* Out of buffers: receive again once some are back. */
	if (cqe->res > 0 || cqe->res == -ENOBUFS) {
		arm_recv(s, fd);
		return;
	}
	c->recv_done = true;
	maybe_close(s, fd);
}

static void on_send(struct server *s, struct io_uring_cqe *cqe, int fd, int bid)
{
	struct conn *c = &s->conns[fd];

	c->sending = false;
	if (cqe->res < 0) {
		/* The peer is gone: end the receive too, then close. */
		shutdown(fd, SHUT_RDWR);
		maybe_close(s, fd);
		return;
	}
	c->sent += (unsigned) cqe->res;
	if (c->sent < s->buf_len[bid]) {
		send_head(s, fd);
		return;
	}
	c->head = s->buf_next[bid];
	if (c->head < 0)
		c->tail = -1;
	recycle(s, bid);
	c->sent = 0;
	if (c->head >= 0)
		send_head(s, fd);
	else
		maybe_close(s, fd);
}

static void handle(struct server *s, struct io_uring_cqe *cqe)
{
	__u64 data = io_uring_cqe_get_data64(cqe);
	int type = (int) (data >> 56);
	int fd = (int) ((data >> 16) & 0xffffffffu);
	int bid = (int) (data & 0xffff);

	switch (type) {
	case UD_ACCEPT:
		on_accept(s, cqe);
		break;
	case UD_RECV:
		on_recv(s, cqe, fd);
		break;
	case UD_SEND:
		on_send(s, cqe, fd, bid);
		break;
	}
}

static int listen_on(unsigned short port)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		die("bind", errno);
	if (listen(fd, 512) < 0)
		die("listen", errno);
	if (getsockname(fd, (struct sockaddr *) &addr, &len) < 0)
		die("getsockname", errno);
	printf("listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
	fflush(stdout);
	return fd;
}

/* liburing 2.3 has no io_uring_setup_buf_ring: map and register by hand. */
static void setup_buffers(struct server *s)
{
	size_t ring_size = s->nbufs * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;
	unsigned i;
	int ret;

	s->br = mmap(NULL, ring_size, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	s->bufs = malloc((size_t) s->nbufs * s->buf_size);
	s->buf_next = calloc(s->nbufs, sizeof(*s->buf_next));
	s->buf_len = calloc(s->nbufs, sizeof(*s->buf_len));
	if (s->br == MAP_FAILED || !s->bufs || !s->buf_next || !s->buf_len)
		die("allocating buffers", ENOMEM);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long) s->br;
	reg.ring_entries = s->nbufs;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&s->ring, &reg, 0);
	if (ret)
		die("io_uring_register_buf_ring", ret);
	io_uring_buf_ring_init(s->br);
	for (i = 0; i < s->nbufs; i++)
		recycle(s, (int) i);
	io_uring_buf_ring_advance(s->br, s->pending_bufs);
	s->pending_bufs = 0;
}

static void on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static struct server s;
	struct io_uring_params p;
	struct options o;
	struct sigaction sa;
	int ret;

	parse(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&p, 0, sizeof(p));
	p.flags = o.flags;
	ret = io_uring_queue_init_params(o.entries, &s.ring, &p);
	if (ret < 0)
		die("io_uring_queue_init_params", ret);
	s.nbufs = o.nbufs;
	s.buf_size = o.buf_size;
	setup_buffers(&s);
	s.lfd = listen_on(o.port);
	arm_accept(&s);

	while (!stop) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		ret = io_uring_submit_and_wait(&s.ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -ETIME)
			die("io_uring_submit_and_wait", ret);
		io_uring_for_each_cqe(&s.ring, head, cqe) {
			handle(&s, cqe);
			seen++;
		}
		/* Buffers go back in one publication per batch. */
		io_uring_buf_ring_advance(s.br, s.pending_bufs);
		s.pending_bufs = 0;
		io_uring_cq_advance(&s.ring, seen);
	}
	io_uring_queue_exit(&s.ring);
	close(s.lfd);
	return 0;
}
