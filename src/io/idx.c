// The IDX reader. Every claim of the header (type, dimensions, data size) is checked against the
// format, the limit and the actual length before the data is looked at; nothing is allocated.
#include "io/idx.h"

#include <stdio.h>
#include <string.h>

#include "io/bytes.h"
#include "io/error.h"
#include "status.h"

int idx_looks_like(const uint8_t *bytes, size_t len) {
    return len >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08 && bytes[3] >= 1 && bytes[3] <= IDX_MAX_DIMS;
}

int idx_parse(IdxArray *a, const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    if (len < 4) return io_fail(err, errlen, LL_EFORMAT, "%s: %zu bytes is too short for an IDX header", name, len);
    if (bytes[0] != 0 || bytes[1] != 0) return io_fail(err, errlen, LL_EFORMAT, "%s: not an IDX file (bad magic)", name);
    if (bytes[2] != 0x08)
        return io_fail(err, errlen, LL_EFORMAT, "%s: IDX type 0x%x is not unsigned bytes (0x08)", name, bytes[2]);
    int ndim = bytes[3];
    if (ndim < 1 || ndim > IDX_MAX_DIMS)
        return io_fail(err, errlen, LL_EFORMAT, "%s: %d dimensions (expected 1 to %d)", name, ndim, IDX_MAX_DIMS);
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header) return io_fail(err, errlen, LL_EFORMAT, "%s: truncated header", name);

    // The size as a double for the message (4 x 32 bits can overflow 64), as an exact count below the limit.
    char shape[64] = "";
    double claimed = 1;
    for (int i = 0; i < ndim; i++) {
        a->dims[i] = read_u32be(bytes + 4 + 4 * i);
        claimed *= a->dims[i];
        size_t used = strlen(shape);
        snprintf(shape + used, sizeof shape - used, i ? "x%u" : "%u", (unsigned)a->dims[i]);
    }
    if (claimed > (double)max_bytes)
        return io_fail(err, errlen, LL_EFORMAT, "%s: header claims %.0f bytes of data, over the %zu-byte limit", name, claimed,
                       max_bytes);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) size *= a->dims[i];   // <= max_bytes: no overflow
    if (len - header != size)
        return io_fail(err, errlen, LL_EFORMAT, "%s: header says %s = %zu bytes of data, file has %zu", name, shape, size,
                       len - header);
    a->ndim = ndim;
    a->data = bytes + header;
    a->size = size;
    return LL_OK;
}
