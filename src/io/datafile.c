// Format detection and unpacking for one data file. A gzip layer is removed once (a gzip inside a
// gzip is refused as unrecognised); an npz contributes its entries data.npy and labels.npy, any others
// are ignored (but named when data.npy is missing, so a wrong archive is easy to recognise).
#include "io/datafile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/error.h"
#include "io/gzip.h"
#include "io/zip.h"
#include "status.h"

const char *datafile_format_name(DataFormat format) {
    return format == DATA_IDX ? "idx" : format == DATA_NPZ ? "npz" : "npy";
}

// One named entry of the archive as an NPY array; *present 0 if the archive has no such entry.
static int npz_array(DataFile *f, const ZipArchive *z, const char *entry, NpyArray *a, uint8_t **owned, char *label,
                     size_t max_bytes, int *present, char *err, size_t errlen) {
    const ZipEntry *e = zip_find(z, entry);
    *present = e != NULL;
    if (!e) return LL_OK;
    snprintf(label, DATA_NAME_MAX + 16, "%s: %s", f->name, entry);
    const uint8_t *bytes;
    size_t len;
    int status = zip_read(z, e, max_bytes, &bytes, owned, &len, err, errlen);
    if (status != LL_OK) return status;
    return npy_parse(a, bytes, len, label, err, errlen);
}

static int open_npz(DataFile *f, const uint8_t *bytes, size_t len, size_t max_bytes, char *err, size_t errlen) {
    ZipArchive z;
    int status = zip_open(&z, bytes, len, f->name, err, errlen);
    if (status != LL_OK) return status;
    int present;
    status = npz_array(f, &z, "data.npy", &f->data, &f->owned_data, f->data_name, max_bytes, &present, err, errlen);
    if (status == LL_OK && !present) {
        char list[200] = "";
        for (size_t i = 0; i < z.num_entries && strlen(list) < 120; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", z.entries[i].name);
        }
        status = io_fail(err, errlen, LL_EFORMAT, "%s: no data.npy in the archive (%s%s): an npz with an array named 'data' is expected",
                         f->name, z.num_entries ? "it holds " : "it is empty", list);
    }
    if (status == LL_OK)
        status = npz_array(f, &z, "labels.npy", &f->labels, &f->owned_labels, f->labels_name, max_bytes, &f->has_labels, err, errlen);
    zip_free(&z);
    return status;
}

static int open_unpacked(DataFile *f, const uint8_t *bytes, size_t len, size_t max_bytes, char *err, size_t errlen) {
    if (len >= 2 && bytes[0] == 0 && bytes[1] == 0) {
        f->format = DATA_IDX;
        return idx_parse(&f->idx, bytes, len, f->name, max_bytes, err, errlen);
    }
    if (zip_looks_like(bytes, len)) {
        f->format = DATA_NPZ;
        return open_npz(f, bytes, len, max_bytes, err, errlen);
    }
    if (npy_looks_like(bytes, len)) {
        f->format = DATA_NPY;
        snprintf(f->data_name, sizeof f->data_name, "%s", f->name);
        if (len > 10 && len - 10 > max_bytes)   // an NPY header is at least 10 bytes
            return io_fail(err, errlen, LL_EFORMAT, "%s: %zu bytes, over the %zu-byte limit", f->name, len, max_bytes);
        return npy_parse(&f->data, bytes, len, f->name, err, errlen);
    }
    if (len == 0) return io_fail(err, errlen, LL_EFORMAT, "%s: the file is empty", f->name);
    char start[16] = "";
    for (size_t i = 0; i < len && i < 4; i++) {
        size_t used = strlen(start);
        snprintf(start + used, sizeof start - used, "%s%02x", i ? " " : "", bytes[i]);
    }
    return io_fail(err, errlen, LL_EFORMAT,
                   "%s: not a recognised data file (it starts %s): expected IDX (00 00 08 ..), npz (50 4b 03 04), npy or gzip (1f 8b)",
                   f->name, start);
}

int datafile_open(DataFile *f, const uint8_t *bytes, size_t len, const char *name, size_t max_bytes, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name && *name ? name : "data file");
    int status;
    if (gzip_looks_like(bytes, len)) {
        size_t n;
        f->gzipped = 1;
        status = gzip_decompress(bytes, len, f->name, max_bytes, &f->unpacked, &n, err, errlen);
        if (status == LL_OK && gzip_looks_like(f->unpacked, n))
            status = io_fail(err, errlen, LL_EFORMAT, "%s: a gzip file inside a gzip file is not read", f->name);
        if (status == LL_OK) status = open_unpacked(f, f->unpacked, n, max_bytes, err, errlen);
    } else {
        status = open_unpacked(f, bytes, len, max_bytes, err, errlen);
    }
    if (status != LL_OK) datafile_free(f);
    return status;
}

void datafile_free(DataFile *f) {
    free(f->unpacked);
    free(f->owned_data);
    free(f->owned_labels);
    f->unpacked = f->owned_data = f->owned_labels = NULL;
    memset(&f->idx, 0, sizeof f->idx);
    memset(&f->data, 0, sizeof f->data);
    memset(&f->labels, 0, sizeof f->labels);
    f->has_labels = 0;
}
