// The dataset builder: which array is images and which labels, their shapes and value ranges, and the
// one conversion (floats to bytes). Every check runs before the output is allocated, except the float
// range check, which runs while converting (the copy is freed on failure).
#include "io/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/error.h"
#include "status.h"

// An array's shape and element access, whichever file format it came from.
typedef struct {
    const char *name;          // for messages
    int ndim;
    uint64_t shape[NPY_MAX_DIMS];
    const NpyArray *npy;       // NULL for IDX (unsigned bytes)
    const uint8_t *bytes;      // IDX data
} View;

static View idx_view(const DataFile *f) {
    View v = {.name = f->name, .ndim = f->idx.ndim, .bytes = f->idx.data};
    for (int i = 0; i < f->idx.ndim; i++) v.shape[i] = f->idx.dims[i];
    return v;
}

static View npy_view(const NpyArray *a, const char *name) {
    View v = {.name = name, .ndim = a->ndim, .npy = a, .bytes = a->data};
    memcpy(v.shape, a->shape, sizeof v.shape);
    return v;
}

static void shape_text(const View *v, char *out, size_t cap) {
    out[0] = '\0';
    for (int i = 0; i < v->ndim; i++) {
        size_t used = strlen(out);
        snprintf(out + used, cap - used, i ? " x %llu" : "%llu", (unsigned long long)v->shape[i]);
    }
    if (v->ndim == 0) snprintf(out, cap, "a scalar");
}

static int is_u8(const View *v) { return !v->npy || v->npy->dtype == NPY_U1; }

static int check_images(const View *v, char *err, size_t errlen) {
    char shape[160];
    shape_text(v, shape, sizeof shape);
    int ok = (v->ndim == 3 && v->shape[1] == 28 && v->shape[2] == 28) || (v->ndim == 2 && v->shape[1] == DATASET_PIXELS);
    if (!ok) return io_fail(err, errlen, LL_EFORMAT, "%s: expected n x 28 x 28 (or n x 784) images, got %s", v->name, shape);
    if (v->shape[0] == 0) return io_fail(err, errlen, LL_EFORMAT, "%s: no images", v->name);
    if (v->npy && v->npy->dtype != NPY_U1 && v->npy->dtype != NPY_F4 && v->npy->dtype != NPY_F8)
        return io_fail(err, errlen, LL_EFORMAT, "%s: images must be uint8 (|u1) or floats in [0, 1] (<f4, <f8), got %s", v->name,
                       v->npy->descr);
    return LL_OK;
}

static int check_labels(const View *v, uint64_t n, const char *images_name, char *err, size_t errlen) {
    if (v->ndim != 1) return io_fail(err, errlen, LL_EFORMAT, "%s: expected one dimension for labels, got %d", v->name, v->ndim);
    if (v->npy && v->npy->dtype != NPY_U1 && v->npy->dtype != NPY_I4 && v->npy->dtype != NPY_I8)
        return io_fail(err, errlen, LL_EFORMAT, "%s: labels must be integers (|u1, <i4 or <i8), got %s", v->name, v->npy->descr);
    if (v->shape[0] != n)
        return io_fail(err, errlen, LL_EFORMAT, "%s: %llu images but %llu labels in %s", images_name, (unsigned long long)n,
                       (unsigned long long)v->shape[0], v->name);
    for (uint64_t i = 0; i < n; i++) {
        double label = v->npy ? npy_get(v->npy, i) : v->bytes[i];
        if (label < 0 || label > DATASET_MAX_LABEL)
            return io_fail(err, errlen, LL_EFORMAT, "%s: label %.0f at %llu is outside 0..%d", v->name, label, (unsigned long long)i,
                           DATASET_MAX_LABEL);
    }
    return LL_OK;
}

// Floats in [0, 1] to bytes, round(255 x); NaN or a value outside [0, 1] is refused, naming it.
static int convert_images(Dataset *d, const View *v, char *err, size_t errlen) {
    size_t count = d->n * DATASET_PIXELS;
    d->owned_images = malloc(count);
    if (!d->owned_images) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory converting %zu images", v->name, d->n);
    for (size_t i = 0; i < count; i++) {
        double x = npy_get(v->npy, i);
        if (!(x >= 0 && x <= 1)) {
            unsigned long long img = i / DATASET_PIXELS, px = i % DATASET_PIXELS;
            if (isnan(x))
                return io_fail(err, errlen, LL_EFORMAT, "%s: value %zu (image %llu, pixel %llu) is NaN", v->name, i, img, px);
            return io_fail(err, errlen, LL_EFORMAT, "%s: value %zu (image %llu, pixel %llu) is %g, outside [0, 1]", v->name, i, img, px,
                           x);
        }
        d->owned_images[i] = (uint8_t)(x * 255 + 0.5);
    }
    d->images = d->owned_images;
    return LL_OK;
}

static int build(Dataset *d, const DataFile *a, const DataFile *b, char *err, size_t errlen) {
    View images, labels;
    int has_labels;
    if (a->format != DATA_IDX || (b && b->format != DATA_IDX)) {
        if (b) {
            const DataFile *npz = a->format != DATA_IDX ? a : b;
            return io_fail(err, errlen, LL_EFORMAT, "%s: an %s file holds the images and the labels: give it alone, not with %s",
                           npz->name, datafile_format_name(npz->format), npz == a ? b->name : a->name);
        }
        images = npy_view(&a->data, a->data_name);
        has_labels = a->has_labels;
        if (has_labels) labels = npy_view(&a->labels, a->labels_name);
    } else {
        // Two IDX files in either order: the one-dimensional one holds the labels.
        if (b && a->idx.ndim == 1 && b->idx.ndim != 1) {
            const DataFile *t = a;
            a = b;
            b = t;
        }
        if (!b && a->idx.ndim == 1)
            return io_fail(err, errlen, LL_EFORMAT, "%s: this looks like a label file (one dimension): the images are needed too", a->name);
        if (b && a->idx.ndim == 1)
            return io_fail(err, errlen, LL_EFORMAT, "%s and %s are both label files (one dimension): one must hold the images", a->name,
                           b->name);
        images = idx_view(a);
        has_labels = b != NULL;
        if (b) labels = idx_view(b);
    }
    int status = check_images(&images, err, errlen);
    if (status != LL_OK) return status;
    if (images.shape[0] > SIZE_MAX / DATASET_PIXELS)   // the parsers' limits already imply this
        return io_fail(err, errlen, LL_EFORMAT, "%s: too many images", images.name);
    d->n = (size_t)images.shape[0];
    if (has_labels && (status = check_labels(&labels, d->n, images.name, err, errlen)) != LL_OK) return status;

    if (is_u8(&images)) d->images = images.bytes;
    else if ((status = convert_images(d, &images, err, errlen)) != LL_OK) return status;
    if (!has_labels) return LL_OK;
    if (is_u8(&labels)) {
        d->labels = labels.bytes;
        return LL_OK;
    }
    d->owned_labels = malloc(d->n);
    if (!d->owned_labels) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory converting %zu labels", labels.name, d->n);
    for (size_t i = 0; i < d->n; i++) d->owned_labels[i] = (uint8_t)npy_get(labels.npy, i);   // checked in 0..9 above
    d->labels = d->owned_labels;
    return LL_OK;
}

int dataset_build(Dataset *d, const DataFile *a, const DataFile *b, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    int status = build(d, a, b, err, errlen);
    if (status != LL_OK) dataset_free(d);
    return status;
}

void dataset_free(Dataset *d) {
    free(d->owned_images);
    free(d->owned_labels);
    memset(d, 0, sizeof *d);
}
