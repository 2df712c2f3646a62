// The native test drivers' tally: check(&t, condition, "what failed %d", ...) prints a FAIL line
// for each failed condition; main prints "N passed, M failed" and returns non-zero on failures.
#ifndef LL_TEST_CHECK_H
#define LL_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

typedef struct {
    int passed, failed;
} Tally;

static void check(Tally *t, int ok, const char *fmt, ...) {
    if (ok) {
        t->passed++;
        return;
    }
    t->failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

#endif
