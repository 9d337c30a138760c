#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
The engine's layers (src/engine/*.c), from the top; a file calls only
files of its own layer or of layers below it, and no files call each other
in a loop, inside a layer or across layers.

  entry       the system calls' own work: setup, enter, register, the wait
              loop, SQPOLL threads, registered ring descriptors, a ring's
              references and teardown, fork
              entry.c register.c sync_cancel.c wait.c fork.c sqpoll.c
              ringfd.c ringref.c napi.c query.c region.c resize.c
              ringpoll.c
  submit      consuming the SQ, chains, io_submit() batches, and the one
              function that acts on an op's result
              submit.c aio.c issue.c
  ops         the operations, dispatched by the opdef.c table
              opdef.c rw.c net.c openclose.c poll_op.c splice.c sync.c
              nop.c timeout.c cancel.c fs.c xattr.c advise.c pipe.c
              epoll.c waitid.c iopoll.c read_mshot.c msg_ring.c
              uring_cmd.c recv_zc.c futex.c
  services    the readiness poller, the worker pool and the futex watchers
              (their threads come back up only through struct ua_issue_ops)
              poll.c iowq.c futex_watch.c
  completion  completing requests in batches, and what a completion
              releases (the next link, drained requests, count timeouts,
              a disarmed LINK_TIMEOUT), matching for cancellation
              complete.c link.c timeout_disarm.c cancel_match.c
  timer       the process's timer (its callbacks are registered with it)
              timer.c
  resources   requests, registered files and buffers, provided buffers,
              maps of the files reads are copied out of
              req.c file.c filetable.c rsrc.c kbuf.c personality.c
              filemap.c
  cq          the CQ ring: posting CQEs (a request's, or a resource tag's),
              overflow, and waking the waiters
              cq.c wake.c
  memory      the rings' memory and table, eventfd, application memory
              ring.c eventfd.c uaccess.c
  rcu         grace periods and sharded reference counts
              rcu.c percpu_ref.c
  sys         system calls that may be missing or refused, and the
              start of the engine's service threads
              sys.c thread.c

A use of a function defined in another file counts as a call whether it is
called there or its address is taken (a table of functions calls them), so
a plain call cannot be hidden behind a pointer. The one way back up is a
registered ops struct the upper layer hands down (struct ua_issue_ops,
ua_issue_up): the lower layer never names the function it reaches.
ringpoll.c defines poll(), epoll_wait() and the like in front of the C
library's: the engine's own calls of those are calls of the C library, so
that file's definitions name no target here (its own calls are checked).
The opdef.c table is data, read through ua_opdef(): the issue layer
dispatches an op's prep, issue and prepare_async through it, and freeing
a request runs the op's cleanup through it (req.c), as the kernel's
io_clean_op does.

Usage: test/layers.py [-v] [ENGINE_DIR]   (default src/engine; -v prints
the call graph by file; exit status 1 on any violation)
"""
import glob
import os
import re
import sys


def declared_layers(doc):
    """The table above: (layer, [files]) from the top, in its order."""
    layers = []
    for line in doc.split('\n'):
        words = line.split()
        if not line.startswith('  ') or not words:
            continue
        if all(w.endswith('.c') for w in words):
            layers[-1][1].extend(words)
        elif not line.startswith('   '):
            layers.append((words[0], []))
    return layers


LAYERS = declared_layers(__doc__)
RANK = {}
LAYER_OF = {}
for rank, (name, files) in enumerate(LAYERS):
    for f in files:
        RANK[f] = len(LAYERS) - rank     # higher: nearer the top
        LAYER_OF[f] = name

DEFINITION = re.compile(
    r'^(?!static\b)(?!typedef\b)[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\s*'
    r'\((?:[^;{()]|\([^;{()]*\))*\)\s*\{', re.M)
IDENT = re.compile(r'\b[A-Za-z_]\w*\b')


def strip(text):
    """The C text without comments, strings and character constants."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"'(\\.|[^'\\\n])*'", "''", text)
    return text


def read_sources(engine):
    sources = {}
    for path in sorted(glob.glob(os.path.join(engine, '*.c'))):
        with open(path) as f:
            sources[os.path.basename(path)] = strip(f.read())
    return sources


LIBC_FRONTS = {'ringpoll.c'}


def definitions(sources):
    """Each non-static function: the file that defines it."""
    defined = {}
    for name, text in sources.items():
        if name in LIBC_FRONTS:
            continue
        for m in DEFINITION.finditer(text):
            defined[m.group(1)] = name
    return defined


def uses(sources, defined):
    """file -> {file it uses -> sorted functions it names there}."""
    graph = {}
    for name, text in sources.items():
        out = {}
        for ident in set(IDENT.findall(text)):
            target = defined.get(ident)
            if target and target != name:
                out.setdefault(target, []).append(ident)
        graph[name] = {t: sorted(f) for t, f in out.items()}
    return graph


def cycles(graph):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    engine = args[0] if args else 'src/engine'
    sources = read_sources(engine)
    graph = uses(sources, definitions(sources))
    errors = []
    for name in sorted(sources):
        if name not in RANK:
            errors.append('%s: no layer declared (the table in test/layers.py)'
                          % name)
    for name in sorted(set(RANK) - set(sources)):
        errors.append('%s: in the table of test/layers.py but not in %s'
                      % (name, engine))
    for src in sorted(graph):
        for dst, funcs in sorted(graph[src].items()):
            if src in RANK and dst in RANK and RANK[dst] > RANK[src]:
                errors.append('%s (%s) calls up into %s (%s): %s'
                              % (src, LAYER_OF[src], dst, LAYER_OF[dst],
                                 ' '.join(funcs)))
    for comp in cycles(graph):
        errors.append('loop between %d files: %s'
                      % (len(comp), ' '.join(comp)))
    if '-v' in sys.argv:
        for src in sorted(graph):
            print('%s -> %s' % (src, ' '.join(sorted(graph[src]))))
    for e in errors:
        print('layers: ' + e)
    if errors:
        return 1
    print('layers: %d engine files, %d layers, no call up, no loop'
          % (len(sources), len(LAYERS)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
