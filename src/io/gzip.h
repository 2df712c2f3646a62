// gzip (RFC 1952) around DEFLATE: a strict reader of single-member files. Not here: the DEFLATE
// decoding itself (io/inflate.c), writing gzip.
#ifndef LL_IO_GZIP_H
#define LL_IO_GZIP_H

#include <stddef.h>
#include <stdint.h>

// True if the bytes start with gzip's magic 1f 8b.
int gzip_looks_like(const uint8_t *bytes, size_t len);
// Decompresses one gzip member named name (for messages). The header is checked (deflate, no reserved
// flags; FEXTRA, FNAME, FCOMMENT skipped, FHCRC verified); the trailer's ISIZE is read first and refused
// if over max_out before anything is allocated (the message says whether the data really expands past the
// limit or the file is truncated or corrupt); the data is inflated into exactly ISIZE bytes; CRC32,
// ISIZE and the absence of trailing bytes are checked. LL_OK with *out (free() it) holding *out_len
// bytes; LL_EFORMAT (LL_ENOMEM) with "name: what is wrong" in err and *out NULL.
int gzip_decompress(const uint8_t *in, size_t len, const char *name, size_t max_out, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen);

#endif
