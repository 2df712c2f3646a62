// One data file a user gives: its format recognised from its first bytes (gzip 1f 8b is unpacked
// first, then IDX 00 00, npz PK 03 04, or a bare NPY \x93NUMPY), its arrays parsed. Not here: what
// the arrays must look like to be a dataset (io/dataset.c).
#ifndef LL_IO_DATAFILE_H
#define LL_IO_DATAFILE_H

#include <stddef.h>
#include <stdint.h>

#include "io/idx.h"
#include "io/npy.h"

#define DATA_MAX_BYTES (512u << 20)   // default cap on any one array, unpacked: MNIST's largest is 47 MB
#define DATA_NAME_MAX 160             // a file name is cut to this many bytes in messages

typedef enum { DATA_IDX, DATA_NPZ, DATA_NPY } DataFormat;

typedef struct {
    DataFormat format;
    int gzipped;
    char name[DATA_NAME_MAX + 1];
    IdxArray idx;                 // DATA_IDX
    NpyArray data, labels;        // DATA_NPZ: the arrays named data and (if has_labels) labels; DATA_NPY: data
    int has_labels;
    char data_name[DATA_NAME_MAX + 16], labels_name[DATA_NAME_MAX + 16];   // "file.npz: data.npy", for messages
    uint8_t *unpacked;            // owned: the gunzipped file (NULL if it was not gzipped)
    uint8_t *owned_data, *owned_labels;   // owned: inflated npz entries (NULL if stored)
} DataFile;

// Recognises and parses len bytes named name; no array may exceed max_bytes unpacked. LL_OK, or
// LL_EFORMAT (LL_ENOMEM) with "name: what is wrong" in err and f empty. The arrays borrow bytes (unless
// it was gzipped): keep them until datafile_free.
int datafile_open(DataFile *f, const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, char *err, size_t errlen);
void datafile_free(DataFile *f);
const char *datafile_format_name(DataFormat format);   // "idx", "npz", "npy"

#endif
