// The gzip reader. Order matters for safety: header fields are bounds-checked as they are skipped,
// and the size the trailer states is checked against the caller's limit before the one allocation;
// inflate then cannot write past that size, so a lying trailer stops decoding instead of growing it.
// A trailer over the limit is refused without allocating; a counting pass only picks the message.
#include "io/gzip.h"

#include <stdlib.h>
#include <string.h>

#include "io/bytes.h"
#include "io/crc32.h"
#include "io/error.h"
#include "io/inflate.h"
#include "status.h"

enum { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
#define HEADER_MIN 10
#define TRAILER 8     // CRC32, ISIZE (both little endian)

int gzip_looks_like(const uint8_t *bytes, size_t len) { return len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

// Skips a zero-terminated field from *pos; 0 if it is not terminated before end.
static int skip_string(const uint8_t *in, size_t end, size_t *pos) {
    const uint8_t *nul = memchr(in + *pos, 0, end - *pos);
    if (!nul) return 0;
    *pos = (size_t)(nul - in) + 1;
    return 1;
}

int gzip_decompress(const uint8_t *in, size_t len, const char *name, size_t max_out, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen) {
    *out = NULL;
    *out_len = 0;
    if (len < HEADER_MIN + TRAILER)
        return io_fail(err, errlen, LL_EFORMAT, "%s: %zu bytes is too short for a gzip file (at least %d)", name, len,
                       HEADER_MIN + TRAILER);
    if (!gzip_looks_like(in, len)) return io_fail(err, errlen, LL_EFORMAT, "%s: not a gzip file (bad magic)", name);
    if (in[2] != 8) return io_fail(err, errlen, LL_EFORMAT, "%s: gzip compression method %d is not deflate (8)", name, in[2]);
    uint8_t flags = in[3];
    if (flags & 0xe0) return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header has reserved flag bits set (0x%02x)", name, flags);

    size_t end = len - TRAILER, pos = HEADER_MIN;   // the header and the data lie in [0, end)
    if (flags & FEXTRA) {
        if (end - pos < 2) return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header ends inside the extra field's length", name);
        size_t xlen = read_u16le(in + pos);
        pos += 2;
        if (end - pos < xlen)
            return io_fail(err, errlen, LL_EFORMAT, "%s: gzip extra field of %zu bytes runs past the end of the file", name, xlen);
        pos += xlen;
    }
    if ((flags & FNAME) && !skip_string(in, end, &pos))
        return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header's file name is not terminated", name);
    if ((flags & FCOMMENT) && !skip_string(in, end, &pos))
        return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header's comment is not terminated", name);
    if (flags & FHCRC) {
        if (end - pos < 2) return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header ends inside its CRC16", name);
        uint16_t want = read_u16le(in + pos), have = (uint16_t)(crc32_update(0, in, pos) & 0xffff);
        if (want != have)
            return io_fail(err, errlen, LL_EFORMAT, "%s: gzip header CRC16 mismatch (header has %04x, stored %04x)", name, have, want);
        pos += 2;
    }

    uint32_t crc_want = read_u32le(in + end), isize = read_u32le(in + end + 4);
    char why[300];
    InflateResult r;
    if (isize > max_out || isize > inflate_max_output(end - pos)) {
        // Refused before any allocation: over the caller's limit, or more than this much DEFLATE data can
        // hold. Which message: a pass that only counts (bounded by the limit, writing nothing) tells a real
        // bomb from a truncated or corrupt file, whose last bytes are not a trailer.
        int status = inflate_raw(NULL, max_out, in + pos, end - pos, &r, why, sizeof why);
        if (status != LL_OK && r.over_limit)
            return io_fail(err, errlen, LL_EFORMAT, "%s: the data expands past the %zu-byte limit (the gzip trailer says %lu bytes)",
                           name, max_out, (unsigned long)isize);
        if (status != LL_OK) return io_fail(err, errlen, LL_EFORMAT, "%s: corrupt or truncated gzip file: %s", name, why);
        if (isize > max_out)
            return io_fail(err, errlen, LL_EFORMAT, "%s: the gzip trailer says %lu bytes, over the %zu-byte limit, but the data inflates to %zu",
                           name, (unsigned long)isize, max_out, r.out_len);
        return io_fail(err, errlen, LL_EFORMAT, "%s: the gzip trailer says %lu bytes, more than its deflate data can hold, but the data inflates to %zu",
                       name, (unsigned long)isize, r.out_len);
    }
    uint8_t *buf = malloc(isize ? isize : 1);
    if (!buf) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory for %lu bytes of gzip data", name, (unsigned long)isize);

    int status = inflate_raw(buf, isize, in + pos, end - pos, &r, why, sizeof why);
    if (status != LL_OK) {
        if (r.over_limit)
            io_fail(err, errlen, LL_EFORMAT, "%s: the deflate data expands past the %lu bytes the gzip trailer states", name,
                    (unsigned long)isize);
        else
            io_fail(err, errlen, LL_EFORMAT, "%s: corrupt or truncated gzip file: %s", name, why);
    } else if (r.in_used != end - pos) {
        status = io_fail(err, errlen, LL_EFORMAT,
                         "%s: %zu bytes follow the end of the deflate data (a truncated file, trailing garbage, or concatenated "
                         "gzip members, which are not supported)", name, end - pos - r.in_used);
    } else if (r.out_len != isize) {
        status = io_fail(err, errlen, LL_EFORMAT, "%s: inflated to %zu bytes but the gzip trailer says %lu", name, r.out_len,
                         (unsigned long)isize);
    } else {
        uint32_t crc = crc32_update(0, buf, r.out_len);
        if (crc != crc_want)
            status = io_fail(err, errlen, LL_EFORMAT, "%s: gzip CRC32 mismatch (data has %08lx, trailer says %08lx)", name,
                             (unsigned long)crc, (unsigned long)crc_want);
    }
    if (status != LL_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    *out_len = r.out_len;
    return LL_OK;
}
