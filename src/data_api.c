// The exported data-file API: a user's files (IDX, gzipped or not, and npz) in, images and labels out.
// Arguments from outside are checked here; a failure leaves its message in ll_last_error().
// Use: f = ll_data_file_open(bytes, len, name, 0) for each file -> d = ll_data_build(f1, f2 or NULL) ->
// read ll_data_count / has_labels / images / labels -> ll_data_free(d) -> ll_data_file_free(f...).
// A file handle borrows the caller's bytes and a dataset borrows from its files: free in that order.
// Also the single readers (web/lib/data/data-files.js's parseIdxBytes, gunzipBytes): ll_data_idx_parse and ll_data_gunzip.
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "io/datafile.h"
#include "io/dataset.h"
#include "io/gzip.h"
#include "io/idx.h"
#include "status.h"

static size_t limit_or_default(size_t max_bytes) { return max_bytes ? max_bytes : DATA_MAX_BYTES; }

// A parsed file, or NULL with the reason in ll_last_error(). max_bytes: cap on any array unpacked (0: 512 MiB).
EXPORT DataFile *ll_data_file_open(const uint8_t *bytes, size_t len, const char *name, size_t max_bytes) {
    if (!bytes && len) {
        ll_fail(LL_EINVAL, "data file: null bytes");
        return NULL;
    }
    DataFile *f = malloc(sizeof *f);
    if (!f) {
        ll_fail(LL_ENOMEM, "out of memory opening a data file");
        return NULL;
    }
    char err[400];
    int status = datafile_open(f, bytes ? bytes : (const uint8_t *)"", len, name, limit_or_default(max_bytes), err, sizeof err);
    if (status != LL_OK) {
        free(f);
        ll_fail(status, "%s", err);
        return NULL;
    }
    return f;
}

EXPORT void ll_data_file_free(DataFile *f) {
    if (!f) return;
    datafile_free(f);
    free(f);
}

// 0 IDX, 1 npz, 2 npy; -1 for a null handle.
EXPORT int ll_data_file_format(const DataFile *f) { return f ? (int)f->format : -1; }
EXPORT int ll_data_file_gzipped(const DataFile *f) { return f ? f->gzipped : -1; }

// A dataset from one file (b NULL) or two IDX files (images and labels, either order), or NULL with the reason.
EXPORT Dataset *ll_data_build(const DataFile *a, const DataFile *b) {
    if (!a) {
        ll_fail(LL_EINVAL, "no data file (null handle)");
        return NULL;
    }
    if (a == b) {
        ll_fail(LL_EINVAL, "%s given twice", a->name);
        return NULL;
    }
    Dataset *d = malloc(sizeof *d);
    if (!d) {
        ll_fail(LL_ENOMEM, "out of memory building a dataset");
        return NULL;
    }
    char err[400];
    int status = dataset_build(d, a, b, err, sizeof err);
    if (status != LL_OK) {
        free(d);
        ll_fail(status, "%s", err);
        return NULL;
    }
    return d;
}

EXPORT void ll_data_free(Dataset *d) {
    if (!d) return;
    dataset_free(d);
    free(d);
}

EXPORT int ll_data_count(const Dataset *d) { return d && d->n <= 0x7fffffff ? (int)d->n : -1; }
EXPORT int ll_data_has_labels(const Dataset *d) { return d ? d->labels != NULL : -1; }
EXPORT const uint8_t *ll_data_images(const Dataset *d) { return d ? d->images : NULL; }   // (n, 784)
EXPORT const uint8_t *ll_data_labels(const Dataset *d) { return d ? d->labels : NULL; }   // (n) or NULL

// Parses an IDX file in place: dims (4 slots) and *data_offset (where the data starts) filled. Returns the
// number of dimensions, or a negative status with the reason.
EXPORT int ll_data_idx_parse(const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, uint32_t *dims,
                             size_t *data_offset) {
    if ((!bytes && len) || !dims || !data_offset) return ll_fail(LL_EINVAL, "IDX: null pointer");
    IdxArray a;
    char err[400];
    int status = idx_parse(&a, bytes ? bytes : (const uint8_t *)"", len, name && *name ? name : "IDX file", limit_or_default(max_bytes),
                           err, sizeof err);
    if (status != LL_OK) return ll_fail(status, "%s", err);
    memcpy(dims, a.dims, sizeof a.dims);
    *data_offset = (size_t)(a.data - bytes);
    return a.ndim;
}

// Decompresses a gzip file: *out (free() it) holds *out_len bytes, at most max_bytes (0: 512 MiB).
EXPORT int ll_data_gunzip(const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, uint8_t **out, size_t *out_len) {
    if ((!bytes && len) || !out || !out_len) return ll_fail(LL_EINVAL, "gzip: null pointer");
    char err[400];
    int status = gzip_decompress(bytes ? bytes : (const uint8_t *)"", len, name && *name ? name : "gzip data",
                                 limit_or_default(max_bytes), out, out_len, err, sizeof err);
    return status == LL_OK ? LL_OK : ll_fail(status, "%s", err);
}
