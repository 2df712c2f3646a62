// libFuzzer target: gzip and raw DEFLATE. Any input is decompressed as a gzip file (limit 16 MiB) and
// inflated as a raw DEFLATE stream into a 64 KiB buffer; both must refuse or decode it without a
// sanitizer report, and a decode must stay within its limit and its input.
#include <stdint.h>
#include <stdlib.h>

#include "io/gzip.h"
#include "io/inflate.h"
#include "status.h"

static uint8_t out[1 << 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[400];
    uint8_t *unpacked;
    size_t n;
    if (gzip_decompress(data, size, "fuzz.gz", 1u << 24, &unpacked, &n, err, sizeof err) == LL_OK) {
        if (n > (1u << 24)) abort();
        free(unpacked);
    }
    InflateResult r;
    inflate_raw(out, sizeof out, data, size, &r, err, sizeof err);
    if (r.out_len > sizeof out || r.in_used > size) abort();
    return 0;
}
