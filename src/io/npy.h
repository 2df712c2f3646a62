// NPY, numpy's array file (format versions 1 and 2): magic \x93NUMPY, version, header length, a
// Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the raw data.
// A strict reader of C-ordered little-endian arrays of u1, i4, i8, f4, f8. Not here: .npz archives
// (io/zip.c), object arrays, structured dtypes, big-endian data, writing.
#ifndef LL_IO_NPY_H
#define LL_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8
#define NPY_MAX_HEADER 65536   // bytes of header dict; numpy writes well under 1 KiB

typedef enum { NPY_U1, NPY_I4, NPY_I8, NPY_F4, NPY_F8 } NpyDtype;

typedef struct {
    NpyDtype dtype;
    char descr[8];              // as written: "|u1", "<f4", ...
    int ndim;                   // 0 for a scalar
    uint64_t shape[NPY_MAX_DIMS];
    uint64_t count;             // elements: the product of shape
    const uint8_t *data;        // inside the caller's buffer: count * npy_itemsize(dtype) bytes
} NpyArray;

size_t npy_itemsize(NpyDtype d);
// True if the bytes start with the NPY magic.
int npy_looks_like(const uint8_t *bytes, size_t len);
// Parses len bytes named name (for messages); the data must fill the rest of the buffer exactly.
// LL_OK, or LL_EFORMAT with "name: what is wrong" in err. Borrows bytes; allocates nothing.
int npy_parse(NpyArray *a, const uint8_t *bytes, size_t len, const char *name, char *err, size_t errlen);
// Element i as a double (the caller checks i < count).
double npy_get(const NpyArray *a, uint64_t i);

#endif
