/*
 * support.h — helpers shared by the unit tests. Test code, header-only.
 * Include it from the one test file of an executable: it defines malloc
 * and realloc. (The database fixture of the store tests is db_fixture.h.)
 *
 * Allocation failure injection: this executable's malloc and realloc come
 * before libc's (and ASan's) for every library in the process, and call the
 * real allocator underneath: ASan's when it is linked in, else glibc's (by
 * name, not dlsym, which itself allocates while ASan starts). fail_at(n)
 * makes the n-th allocation from now (0-based) fail, fail_off() stops
 * failing, and g_failed says whether the armed failure happened.
 *
 *	if (!injection_works())
 *		skip();
 *	for (long n = 0;; n++) {
 *		fail_at(n);
 *		int rc = code_under_test();
 *		fail_off();
 *		if (!g_failed)
 *			break; // every allocation was tried
 *		assert_int_equal(rc, -1);
 *	}
 */
#ifndef IAM_TEST_SUPPORT_H
#define IAM_TEST_SUPPORT_H

#include <stddef.h>
#include <stdlib.h>

extern void *__interceptor_malloc(size_t) __attribute__((weak));
extern void *__interceptor_realloc(void *, size_t) __attribute__((weak));
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
static long g_fail_at = -1;
static int g_failed;

static inline int should_fail(void)
{
	if (g_fail_at < 0)
		return 0;
	if (g_fail_at-- == 0) {
		g_failed = 1;
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return __interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n);
}

void *realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return __interceptor_realloc ? __interceptor_realloc(p, n) : __libc_realloc(p, n);
}

/* Arm the injector to fail the n-th allocation from now (0-based). */
static inline void fail_at(long n)
{
	g_failed = 0;
	g_fail_at = n;
}

static inline void fail_off(void)
{
	g_fail_at = -1;
}

/* False where the injector is bypassed (valgrind replaces malloc in the executable too). */
static inline int injection_works(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void *p;

	fail_at(0);
	p = alloc(16);
	fail_off();
	free(p);
	return p == NULL;
}

#endif
