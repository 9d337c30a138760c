/* SPDX-License-Identifier: MIT */
/*
 * x86_64: a call site that traps once is rewritten so it never traps
 * again. A trapped call costs a signal delivery, a save of the register
 * state to the signal frame and a sigreturn: more than a 4 KiB read from
 * the page cache, and fio makes one io_uring_enter per request with its
 * own `syscall` instruction.
 *
 * Compilers emit such a call as `mov $nr,%eax; syscall` (b8 nr 00 00
 * 0f 05). Its 5-byte mov becomes a `jmp` to a stub of this site, which
 * calls thunk below and jumps back behind the `syscall`. The `syscall`
 * stays: a thread that had already executed the mov still traps, as
 * before. The mov is replaced with one aligned 8-byte store, so another
 * thread fetches either the old instruction or the new one, never half of
 * each; a site whose mov crosses an 8-byte boundary keeps trapping, as
 * does one where the code cannot be made writable, or where no page for
 * its stub is found within a jump's reach (2 GiB).
 *
 * The thunk keeps what the system call instruction keeps: every register
 * but rax, rcx and r11, the vector and x87 state included (xsave, whose
 * area goes on the stack, like a signal frame's), and the 128-byte red
 * zone below the stack pointer, which the code around the site may use.
 */
#if defined(__x86_64__)
#include <cpuid.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "preload/preload.h"

#define STUB_SIZE	48
#define PAGE		4096ul
#define MOV_EAX		0xb8
#define JMP_REL32	0xe9

/* The size of the xsave area for the features the kernel enabled; 0 when
 * the processor or the kernel has no xsave: then no site is rewritten. */
__attribute__((visibility("hidden"))) unsigned long ua_preload_xsave_size;

/*
 * rdi..r9 are the call's arguments; the stub pushed the call's number.
 * Frame: [rbp+16] number, [rbp-64..-17] arguments a0..a5, [rbp-16]
 * result, then the xsave area, 64-byte aligned, header zeroed (xrstor
 * refuses one with reserved bits set).
 */
__asm__(
	".text\n"
	".p2align 4\n"
	".type ua_preload_thunk,@function\n"
	"ua_preload_thunk:\n"
	"	endbr64\n"		/* an indirect call's target under IBT */
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	sub $64, %rsp\n"
	"	mov %rdi, -64(%rbp)\n"
	"	mov %rsi, -56(%rbp)\n"
	"	mov %rdx, -48(%rbp)\n"
	"	mov %r10, -40(%rbp)\n"
	"	mov %r8, -32(%rbp)\n"
	"	mov %r9, -24(%rbp)\n"
	"	sub ua_preload_xsave_size(%rip), %rsp\n"
	"	and $-64, %rsp\n"
	"	xor %eax, %eax\n"
	"	mov $8, %ecx\n"
	"1:	mov %rax, 504(%rsp,%rcx,8)\n"
	"	loop 1b\n"
	"	mov $-1, %eax\n"
	"	mov $-1, %edx\n"
	"	xsave64 (%rsp)\n"
	"	mov 16(%rbp), %rdi\n"
	"	lea -64(%rbp), %rsi\n"
	"	call ua_preload_call\n"
	"	mov %rax, -16(%rbp)\n"
	"	mov $-1, %eax\n"
	"	mov $-1, %edx\n"
	"	xrstor64 (%rsp)\n"
	"	mov -64(%rbp), %rdi\n"
	"	mov -56(%rbp), %rsi\n"
	"	mov -48(%rbp), %rdx\n"
	"	mov -40(%rbp), %r10\n"
	"	mov -32(%rbp), %r8\n"
	"	mov -24(%rbp), %r9\n"
	"	mov -16(%rbp), %rax\n"
	"	leave\n"
	"	ret\n"
	".size ua_preload_thunk, .-ua_preload_thunk\n");

void ua_preload_thunk(void);

void ua_preload_rewrite_init(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return;
	__cpuid_count(0xd, 0, a, b, c, d);
	ua_preload_xsave_size = b;
}

/* Stub pages, filled in order; the lock is only tried (we are in a
 * signal handler): a site that finds it taken traps again next time. */
static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *stub_page;
static unsigned stubs_used;

static bool reachable(uintptr_t from, uintptr_t to)
{
	intptr_t d = (intptr_t) (to - from);

	return d > INT32_MIN / 2 && d < INT32_MAX / 2;
}

/* A page for stubs within reach of site: below it, then above it. */
static unsigned char *stub_page_near(uintptr_t site)
{
	static const intptr_t offsets[] = {
		-(1l << 28), -(1l << 29), 1l << 28, 1l << 29, -(1l << 26),
	};

	for (unsigned i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uintptr_t hint = (site + (uintptr_t) offsets[i]) & ~(PAGE - 1);
		void *p = mmap((void *) hint, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (p == MAP_FAILED)
			continue;
		if (reachable(site, (uintptr_t) p))
			return p;
		munmap(p, PAGE);
	}
	return NULL;
}

static void put_rel32(unsigned char *at, uintptr_t next_insn, uintptr_t to)
{
	int32_t rel = (int32_t) (intptr_t) (to - next_insn);

	memcpy(at, &rel, 4);
}

/* lea -128(%rsp),%rsp; push $nr; movabs $thunk,%r11; call *%r11;
 * lea 136(%rsp),%rsp; jmp back. rcx and r11 are the call's to clobber. */
static unsigned char *make_stub(uintptr_t site, unsigned nr)
{
	static const unsigned char head[] = { 0x48, 0x8d, 0x64, 0x24, 0x80, 0x68 };
	static const unsigned char tail[] = {
		0x41, 0xff, 0xd3, 0x48, 0x8d, 0xa4, 0x24, 0x88, 0, 0, 0, JMP_REL32
	};
	unsigned char *s;
	uint64_t thunk = (uint64_t) (uintptr_t) ua_preload_thunk;

	if (!stub_page || stubs_used == PAGE / STUB_SIZE ||
	    !reachable(site, (uintptr_t) stub_page)) {
		unsigned char *p = stub_page_near(site);

		if (!p)
			return NULL;
		stub_page = p;
		stubs_used = 0;
	}
	s = stub_page + stubs_used * STUB_SIZE;
	if (mprotect(stub_page, PAGE, PROT_READ | PROT_WRITE))
		return NULL;
	memcpy(s, head, sizeof(head));
	memcpy(s + 6, &nr, 4);
	s[10] = 0x49;			/* movabs $thunk, %r11 */
	s[11] = 0xbb;
	memcpy(s + 12, &thunk, 8);
	memcpy(s + 20, tail, sizeof(tail));
	put_rel32(s + 32, (uintptr_t) s + 36, site + 7);
	if (mprotect(stub_page, PAGE, PROT_READ | PROT_EXEC))
		return NULL;
	stubs_used++;
	return s;
}

/* Whether the page holding site is a file's code, mapped r-xp: nothing
 * else (a JIT's memory, data) is rewritten. */
static bool in_file_code(uintptr_t site)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[5];
	unsigned long lo, hi, ino;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx %4s %*s %*s %lu", &lo, &hi, perms,
			       &ino) == 4 && site >= lo && site + 8 <= hi &&
			!strcmp(perms, "r-xp") && ino;
	fclose(f);
	return found;
}

/* The jmp's 5 bytes lie inside one aligned 8-byte word. */
static void patch_site(uintptr_t site, const unsigned char *stub)
{
	uint64_t *word = (uint64_t *) (site & ~7ul);
	uint64_t val = __atomic_load_n(word, __ATOMIC_RELAXED);
	unsigned char *b = (unsigned char *) &val + (site & 7);
	uintptr_t page = site & ~(PAGE - 1);

	if (mprotect((void *) page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC))
		return;
	b[0] = JMP_REL32;
	put_rel32(b + 1, site + 5, (uintptr_t) stub);
	__atomic_store_n(word, val, __ATOMIC_RELEASE);
	mprotect((void *) page, PAGE, PROT_READ | PROT_EXEC);
}

/* call_end: the address behind the trapped `syscall` instruction. */
void ua_preload_rewrite(uintptr_t call_end, unsigned nr)
{
	uintptr_t site = call_end - 7;
	const unsigned char *c = (const unsigned char *) site;
	unsigned imm;
	unsigned char *stub;

	/* The mov must be on the page of the `syscall`, which is known to
	 * be mapped, and must fit one aligned word. */
	if (!ua_preload_xsave_size || (site & 7) > 3 ||
	    (site & ~(PAGE - 1)) != ((call_end - 2) & ~(PAGE - 1)) ||
	    pthread_mutex_trylock(&stub_lock))
		return;
	memcpy(&imm, c + 1, 4);
	if (c[0] == MOV_EAX && imm == nr && c[5] == 0x0f && c[6] == 0x05 &&
	    in_file_code(site)) {
		stub = make_stub(site, nr);
		if (stub)
			patch_site(site, stub);
	}
	pthread_mutex_unlock(&stub_lock);
}
#endif
