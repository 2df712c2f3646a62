// DEFLATE decoding (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks, into a buffer the
// caller sized. Its capacity is the output limit: a stream that would write more stops with an error
// (the guard against decompression bombs). Not here: the gzip and zip containers around the stream.
#ifndef LL_IO_INFLATE_H
#define LL_IO_INFLATE_H

#include <stddef.h>
#include <stdint.h>

// The most n bytes of DEFLATE data can decode to: a 258-byte match costs at least 2 bits (1032:1),
// plus slack for a stream's smallest blocks. A header claiming more is impossible, refused unallocated.
static inline uint64_t inflate_max_output(uint64_t n) { return n * 1032 + 1024; }

typedef struct {
    size_t out_len;      // bytes written
    size_t in_used;      // bytes of input consumed, up to the end of the final block
    int over_limit;      // 1 if decoding stopped because the output would exceed its capacity
} InflateResult;

// Decodes one raw DEFLATE stream from in[0..in_len) into out[0..out_cap). LL_OK after the final block;
// LL_EFORMAT with a message in err for a malformed or truncated stream or one that would write more
// than out_cap bytes (r->over_limit set). Reads only inside in, writes only inside out, allocates nothing.
// With out NULL nothing is written: the stream is checked and its length counted, up to out_cap.
int inflate_raw(uint8_t *out, size_t out_cap, const uint8_t *in, size_t in_len, InflateResult *r, char *err, size_t errlen);

#endif
