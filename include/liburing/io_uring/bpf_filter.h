/* SPDX-License-Identifier: MIT */
/*
 * IORING_REGISTER_BPF_FILTER: classic BPF filters over the requests a ring
 * or a task may submit. The kernel's layout and values, written for
 * uring-alike.
 */
#ifndef LINUX_IO_URING_BPF_FILTER_H
#define LINUX_IO_URING_BPF_FILTER_H

#include <linux/types.h>

/* What a filter sees of a request. */
struct io_uring_bpf_ctx {
	__u64	user_data;
	__u8	opcode;
	__u8	sqe_flags;
	__u8	pdu_size;	/* bytes of the union below that are valid */
	__u8	pad[5];
	union {
		struct {
			__u32	family;
			__u32	type;
			__u32	protocol;
		} socket;
		struct {
			__u64	flags;
			__u64	mode;
			__u64	resolve;
		} open;
	};
};

enum {
	/* Opcodes without a filter of their own are denied. */
	IO_URING_BPF_FILTER_DENY_REST	= 1,
	/* Fail the registration when pdu_size differs from the kernel's. */
	IO_URING_BPF_FILTER_SZ_STRICT	= 2,
};

struct io_uring_bpf_filter {
	__u32	opcode;
	__u32	flags;		/* IO_URING_BPF_FILTER_* */
	__u32	filter_len;	/* in BPF instructions */
	__u8	pdu_size;
	__u8	resv[3];
	__u64	filter_ptr;	/* struct sock_filter * */
	__u64	resv2[5];
};

enum {
	IO_URING_BPF_CMD_FILTER	= 1,
};

struct io_uring_bpf {
	__u16	cmd_type;	/* IO_URING_BPF_CMD_* */
	__u16	cmd_flags;
	__u32	resv;
	union {
		struct io_uring_bpf_filter	filter;
	};
};

#endif
