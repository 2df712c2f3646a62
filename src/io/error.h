// The readers' error reporting: a status code returned, and a message written into the caller's
// buffer (err may be NULL), so a parser needs no global state to explain a refusal.
#ifndef LL_IO_ERROR_H
#define LL_IO_ERROR_H

#include <stddef.h>

int io_fail(char *err, size_t errlen, int status, const char *fmt, ...);

#endif
