/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_CTX_H
#define UA_ENGINE_CTX_H

/*
 * Every header of the engine, for code that looks at all of it (the unit
 * tests). Each engine file includes only the headers of what it uses: one
 * header per concern, named after the .c file that implements it.
 */

#include "engine/aio.h"
#include "engine/cancel.h"
#include "engine/cq.h"
#include "engine/eventfd.h"
#include "engine/file.h"
#include "engine/filetable.h"
#include "engine/fork.h"
#include "engine/iopoll.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/link.h"
#include "engine/list.h"
#include "engine/net.h"
#include "engine/nop.h"
#include "engine/openclose.h"
#include "engine/poll.h"
#include "engine/poll_op.h"
#include "engine/register.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/rsrc.h"
#include "engine/rw.h"
#include "engine/splice.h"
#include "engine/sqpoll.h"
#include "engine/submit.h"
#include "engine/sync.h"
#include "engine/timeout.h"
#include "engine/timer.h"
#include "engine/wait.h"
#include "engine/wake.h"

#endif
