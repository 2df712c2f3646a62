// See error.h.
#include "io/error.h"

#include <stdarg.h>
#include <stdio.h>

int io_fail(char *err, size_t errlen, int status, const char *fmt, ...) {
    if (err && errlen) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, errlen, fmt, args);
        va_end(args);
    }
    return status;
}
