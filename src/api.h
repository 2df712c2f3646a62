// Shared by the exported-API files only (src/*_api.c): the export marker and the last-error slot.
// Model code never includes this.
#ifndef LL_API_H
#define LL_API_H

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define EXPORT
#endif

// Formats the message returned by ll_last_error() and returns status, for `return ll_fail(...)`.
int ll_fail(int status, const char *fmt, ...);
const char *ll_last_error(void);

#endif
