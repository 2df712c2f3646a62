// Little-endian byte order is written and read explicitly, so this is right on any host.
#include "io/vae_safetensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/half.h"
#include "io/error.h"
#include "status.h"
#include "vae.h"


static size_t spec_size(const TensorSpec *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

// "(32,1,4,4)", as the error messages show shapes.
static void format_shape(char *buf, size_t size, int ndim, const uint64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%llu" : "%llu", (unsigned long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, ")");
}

static int is_model_tensor(const char *name) {
    for (int i = 0; i < VAE_NUM_TENSORS; i++)
        if (strcmp(vae_tensor(i)->name, name) == 0) return 1;
    return 0;
}

int vae_params_from_safetensors(float *params, const StFile *f, char *err, size_t errlen) {
    // Names first: a missing tensor explains an extra one (a renamed module), not the other way round.
    for (int i = 0; i < VAE_NUM_TENSORS; i++)
        if (!st_find(f, vae_tensor(i)->name)) return io_fail(err, errlen, LL_EFORMAT, "missing tensor %s", vae_tensor(i)->name);
    for (size_t i = 0; i < f->num_tensors; i++)
        if (!is_model_tensor(f->tensors[i].name))
            return io_fail(err, errlen, LL_EFORMAT, "unexpected tensor %.80s (the model has no such parameter)", f->tensors[i].name);

    size_t offset = 0;
    for (int i = 0; i < VAE_NUM_TENSORS; i++) {
        const TensorSpec *spec = vae_tensor(i);
        const StTensor *t = st_find(f, spec->name);
        if (t->dtype != ST_F32 && t->dtype != ST_F16)
            return io_fail(err, errlen, LL_EFORMAT, "tensor %s has dtype %s, expected F32 or F16", spec->name, st_dtype_name(t->dtype));
        uint64_t want[4];
        int same = t->ndim == spec->ndim;
        for (int d = 0; d < spec->ndim; d++) {
            want[d] = (uint64_t)spec->shape[d];
            same = same && t->shape[d] == want[d];
        }
        if (!same) {
            char got[160], expected[80];
            format_shape(got, sizeof got, t->ndim, t->shape);
            format_shape(expected, sizeof expected, spec->ndim, want);
            return io_fail(err, errlen, LL_EFORMAT, "tensor %s has shape %s, expected %s", spec->name, got, expected);
        }
        // The parser checked that [begin, end) holds exactly size * dtype bytes inside the buffer.
        size_t n = spec_size(spec);
        const uint8_t *b = t->data;
        float *out = params + offset;
        for (size_t j = 0; j < n; j++) {
            float v;
            if (t->dtype == ST_F32) {
                uint32_t u = (uint32_t)b[4 * j] | (uint32_t)b[4 * j + 1] << 8 | (uint32_t)b[4 * j + 2] << 16 |
                             (uint32_t)b[4 * j + 3] << 24;
                memcpy(&v, &u, sizeof v);
            } else {
                v = half_to_float((uint16_t)(b[2 * j] | b[2 * j + 1] << 8));
            }
            if (!isfinite(v))
                return io_fail(err, errlen, LL_ENONFINITE, "tensor %s contains %s (element %zu)", spec->name,
                            isnan(v) ? "NaN" : "infinity", j);
            out[j] = v;
        }
        offset += n;
    }
    return LL_OK;
}

int vae_params_to_safetensors(const float *params, StDtype dtype, const StMeta *meta, size_t n_meta, uint8_t **out,
                              size_t *out_len, char *err, size_t errlen) {
    *out = NULL;
    *out_len = 0;
    if (dtype != ST_F32 && dtype != ST_F16) return io_fail(err, errlen, LL_EINVAL, "models are saved as F32 or F16, not %s", st_dtype_name(dtype));
    StSpec specs[VAE_NUM_TENSORS];
    size_t offset = 0;
    for (int i = 0; i < VAE_NUM_TENSORS; i++) {
        const TensorSpec *t = vae_tensor(i);
        specs[i] = (StSpec){t->name, dtype, t->ndim, {0}};
        for (int d = 0; d < t->ndim; d++) specs[i].shape[d] = (uint64_t)t->shape[d];
        // Never write a file the loader would refuse.
        for (size_t j = 0; j < spec_size(t); j++) {
            float v = params[offset + j];
            if (!isfinite(v))
                return io_fail(err, errlen, LL_ENONFINITE, "tensor %s contains %s (element %zu)", t->name, isnan(v) ? "NaN" : "infinity", j);
            if (dtype == ST_F16 && fabsf(v) >= 65520.0f)
                return io_fail(err, errlen, LL_EINVAL, "tensor %s: value %g (element %zu) is beyond float16's range", t->name, v, j);
        }
        offset += spec_size(t);
    }
    uint8_t *file, *data;
    size_t len;
    int status = st_write(specs, VAE_NUM_TENSORS, meta, n_meta, &file, &len, &data, err, errlen);
    if (status != LL_OK) return status;
    size_t n = vae_num_params();
    if (dtype == ST_F32) {
        for (size_t j = 0; j < n; j++) {
            uint32_t u;
            memcpy(&u, &params[j], sizeof u);
            for (int k = 0; k < 4; k++) data[4 * j + k] = (uint8_t)(u >> (8 * k));
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            uint16_t h = float_to_half(params[j]);
            data[2 * j] = (uint8_t)h;
            data[2 * j + 1] = (uint8_t)(h >> 8);
        }
    }
    *out = file;
    *out_len = len;
    return LL_OK;
}
