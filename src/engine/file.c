/* SPDX-License-Identifier: MIT */
/*
 * What kind of file a request works on. The fast path never asks (one
 * fstat would cost as much as the read it precedes); a request asks when it
 * leaves the fast path: when it is punted, or after a short transfer.
 */
#include <errno.h>
#include <sys/stat.h>
#include "engine/file.h"
#include "engine/filetable.h"
#include "engine/req.h"
#include "engine/opdef.h"

int ua_req_classify_file(struct ua_req *req)
{
	struct stat st;

	if (fstat(req->fd, &st) < 0) {
		/* The issue will meet the same error and report it. */
		req->file_kind = UA_FILE_SEEKABLE;
		return -errno;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		req->file_kind = UA_FILE_SEEKABLE;
		if (S_ISREG(st.st_mode) && ua_opdef(req->opcode)->hash_reg_file)
			req->hash_key = (((__u64) st.st_dev << 40) ^ st.st_ino) | 1;
	} else {
		req->file_kind = UA_FILE_STREAM;
		if (req->file_node)	/* the next requests need not ask */
			ua_file_node_mark_stream(req->file_node);
	}
	return 0;
}
