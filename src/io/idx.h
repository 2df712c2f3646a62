// IDX, the format of the MNIST files (and of Fashion-MNIST's): bytes 0 0, a type byte, the number of
// dimensions, each dimension as a big-endian uint32, then the data in row-major order.
// A strict reader of unsigned-byte (type 0x08) files of 1 to 4 dimensions. Not here: what the
// dimensions mean (images or labels: io/dataset.c) and decompression (io/gzip.c).
#ifndef LL_IO_IDX_H
#define LL_IO_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAX_DIMS 4

typedef struct {
    int ndim;                      // 1 .. IDX_MAX_DIMS
    uint32_t dims[IDX_MAX_DIMS];
    const uint8_t *data;           // inside the caller's buffer: dims[0] * ... * dims[ndim-1] bytes
    size_t size;
} IdxArray;

// True if the bytes start like an IDX file of unsigned bytes (0 0 8 ndim): a guess for format detection.
int idx_looks_like(const uint8_t *bytes, size_t len);
// Parses len bytes named name (for messages); the file must be exactly header + data, the data at most
// max_bytes. LL_OK, or LL_EFORMAT with "name: what is wrong" in err. Borrows bytes; allocates nothing.
int idx_parse(IdxArray *a, const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, char *err, size_t errlen);

#endif
