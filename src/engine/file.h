/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FILE_H
#define UA_ENGINE_FILE_H


struct ua_req;

/* file.c: learning what kind of file a request works on */
int ua_req_classify_file(struct ua_req *req);

#endif
