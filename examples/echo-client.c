/* SPDX-License-Identifier: MIT */
/*
 * echo-client: drives an echo server on the loopback with ping-pong
 * traffic: N connections, each sending a message, waiting for all of it to
 * come back (checked byte for byte) and sending the next. Runs for a fixed
 * time and prints one machine-readable line, for bench/echo.sh.
 *
 * It uses plain epoll, so it costs the same whichever server it drives.
 * Only 127.0.0.0/8 is accepted as the server's address: this is a
 * benchmark tool, not a load generator for other machines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	1024
#define MAX_SIZE	65536

struct options {
	struct in_addr host;
	unsigned short port;
	unsigned conns;
	unsigned size;
	double seconds;
};

struct conn {
	int fd;
	unsigned got;		/* bytes of the echo received */
	unsigned char seq;	/* varies the message per round trip */
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s --port P [--host 127.0.0.1] [--conns N] [--size BYTES]\n"
		"          [--seconds S]\n"
		"\n"
		"Ping-pong traffic to an echo server on the loopback; prints\n"
		"  conns=N size=B round_trips=R secs=S rtt_per_sec=X\n"
		"\n"
		"  --port P       the server's port\n"
		"  --host A       its address, in 127.0.0.0/8 (default 127.0.0.1)\n"
		"  --conns N      connections (1-%d, default 16)\n"
		"  --size B       message size (1-%d, default 64)\n"
		"  --seconds S    run time (default 2)\n"
		"  -h, --help     show this help and exit\n",
		prog, MAX_CONNS, MAX_SIZE);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "echo-client: %s: %s\n", what, strerror(err));
	exit(1);
}

static unsigned parse_uint(const char *s, const char *what, unsigned lo,
			   unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "echo-client: bad %s: %s\n", what, s);
		exit(2);
	}
	return (unsigned) v;
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->host.s_addr = htonl(INADDR_LOOPBACK);
	o->conns = 16;
	o->size = 64;
	o->seconds = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->port = (unsigned short) parse_uint(optarg, "port", 1, 65535);
			break;
		case 'H':
			if (inet_pton(AF_INET, optarg, &o->host) != 1 ||
			    (ntohl(o->host.s_addr) >> 24) != 127) {
				fprintf(stderr, "echo-client: --host must be in 127.0.0.0/8\n");
				exit(2);
			}
			break;
		case 'c':
			o->conns = parse_uint(optarg, "conns", 1, MAX_CONNS);
			break;
		case 's':
			o->size = parse_uint(optarg, "size", 1, MAX_SIZE);
			break;
		case 't':
			o->seconds = strtod(optarg, NULL);
			if (o->seconds <= 0 || o->seconds > 3600) {
				fprintf(stderr, "echo-client: bad seconds: %s\n", optarg);
				exit(2);
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			exit(2);
		}
	}
	if (optind != argc || !o->port) {
		usage(stderr, argv[0]);
		exit(2);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(unsigned char *buf, unsigned size, unsigned char seq)
{
	unsigned i;

	for (i = 0; i < size; i++)
		buf[i] = (unsigned char) (seq + i);
}

static void send_msg(struct conn *c, unsigned size)
{
	unsigned char buf[MAX_SIZE];
	unsigned off = 0;

	fill(buf, size, c->seq);
	while (off < size) {
		ssize_t n = write(c->fd, buf + off, size - off);

		if (n < 0)
			die("write", errno);
		off += (unsigned) n;
	}
	c->got = 0;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	static unsigned char buf[MAX_SIZE], want[MAX_SIZE];
	struct epoll_event ev, events[64];
	struct sockaddr_in addr;
	unsigned long long trips = 0, rounds = 0;
	struct options o;
	double start, end;
	int epfd, one = 1;
	unsigned i;

	parse(argc, argv, &o);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(o.port);
	addr.sin_addr = o.host;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1", errno);
	for (i = 0; i < o.conns; i++) {
		struct conn *c = &conns[i];

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			die("socket", errno);
		if (connect(c->fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
			die("connect", errno);
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl", errno);
		c->seq = (unsigned char) i;
	}
	start = now();
	end = start + o.seconds;
	for (i = 0; i < o.conns; i++)
		send_msg(&conns[i], o.size);
	for (;;) {
		int n = epoll_wait(epfd, events, 64, 1000), k;

		if (n < 0 && errno != EINTR)
			die("epoll_wait", errno);
		for (k = 0; k < n; k++) {
			struct conn *c = &conns[events[k].data.u32];
			ssize_t r = read(c->fd, buf, o.size - c->got);

			if (r <= 0)
				die("read (server gone?)", r ? errno : EPIPE);
			fill(want, o.size, c->seq);
			if (memcmp(buf, want + c->got, (size_t) r)) {
				fprintf(stderr, "echo-client: wrong data echoed\n");
				return 1;
			}
			c->got += (unsigned) r;
			if (c->got < o.size)
				continue;
			trips++;
			c->seq++;
			send_msg(c, o.size);
		}
		/* The clock costs a system call: look every 16 rounds. */
		if ((++rounds % 16 == 0 || n <= 0) && now() >= end)
			break;
	}
	end = now();
	printf("conns=%u size=%u round_trips=%llu secs=%.2f rtt_per_sec=%.0f\n",
	       o.conns, o.size, trips, end - start, trips / (end - start));
	for (i = 0; i < o.conns; i++)
		close(conns[i].fd);
	return 0;
}
