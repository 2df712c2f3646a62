// The exported safetensors API: models in and out as files PyTorch reads and writes. Arguments from
// outside are checked here; a failure leaves its message in ll_last_error() and the model unchanged.
// Reading is open -> (inspect metadata) -> to_model -> close; the handle borrows the caller's bytes,
// which must outlive it.
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "io/safetensors.h"
#include "io/vae_safetensors.h"
#include "status.h"
#include "vae.h"

#define MAX_META 4096   // metadata entries a caller may pass to save

// A parsed file, or NULL with the reason in ll_last_error().
EXPORT StFile *ll_safetensors_open(const uint8_t *bytes, size_t len) {
    char err[400];
    StFile *f = malloc(sizeof *f);
    if (!f) {
        ll_fail(LL_ENOMEM, "out of memory opening a safetensors file");
        return NULL;
    }
    int status = st_parse(f, bytes, len, err, sizeof err);
    if (status != LL_OK) {
        free(f);
        ll_fail(status, "%s", err);
        return NULL;
    }
    return f;
}

EXPORT void ll_safetensors_close(StFile *f) {
    if (!f) return;
    st_free(f);
    free(f);
}

EXPORT int ll_safetensors_num_meta(StFile *f) { return f ? (int)f->num_meta : -1; }
EXPORT const char *ll_safetensors_meta_key(StFile *f, int i) {
    return f && i >= 0 && (size_t)i < f->num_meta ? f->meta[i].key : NULL;
}
EXPORT const char *ll_safetensors_meta_value(StFile *f, int i) {
    return f && i >= 0 && (size_t)i < f->num_meta ? f->meta[i].value : NULL;
}

// Replaces every parameter of m with the file's (all or nothing) and resets Adam's state.
EXPORT int ll_safetensors_to_model(StFile *f, Vae *m) {
    if (!f) return ll_fail(LL_EINVAL, "no safetensors file (null handle)");
    if (!m) return ll_fail(LL_EINVAL, "no model (null handle)");
    size_t n = vae_num_params();
    float *scratch = malloc(n * sizeof(float));
    if (!scratch) return ll_fail(LL_ENOMEM, "out of memory loading a model (%zu parameters)", n);
    char err[400];
    int status = vae_params_from_safetensors(scratch, f, err, sizeof err);
    if (status == LL_OK) {
        memcpy(vae_params(m), scratch, n * sizeof(float));
        vae_reset_optimizer(m);
    }
    free(scratch);
    return status == LL_OK ? LL_OK : ll_fail(status, "%s", err);
}

// Saves m's parameters as F32 (f16 = 0) or F16 (f16 = 1) with n_meta key/value strings. On success
// *out_bytes (free() it) holds *out_len bytes.
EXPORT int ll_safetensors_save(Vae *m, int f16, const char *const *keys, const char *const *values, int n_meta,
                               uint8_t **out_bytes, size_t *out_len) {
    if (!m) return ll_fail(LL_EINVAL, "no model (null handle)");
    if (f16 != 0 && f16 != 1) return ll_fail(LL_EINVAL, "dtype flag must be 0 (F32) or 1 (F16), got %d", f16);
    if (n_meta < 0 || n_meta > MAX_META) return ll_fail(LL_EINVAL, "metadata entries must be 0..%d, got %d", MAX_META, n_meta);
    if (n_meta > 0 && (!keys || !values)) return ll_fail(LL_EINVAL, "metadata: null pointer");
    if (!out_bytes || !out_len) return ll_fail(LL_EINVAL, "output: null pointer");
    StMeta *meta = malloc((n_meta ? (size_t)n_meta : 1) * sizeof *meta);
    if (!meta) return ll_fail(LL_ENOMEM, "out of memory saving a model");
    for (int i = 0; i < n_meta; i++) {
        if (!keys[i] || !values[i]) {
            free(meta);
            return ll_fail(LL_EINVAL, "metadata entry %d: null pointer", i);
        }
        meta[i] = (StMeta){keys[i], values[i]};
    }
    char err[400];
    int status = vae_params_to_safetensors(vae_params(m), f16 ? ST_F16 : ST_F32, meta, (size_t)n_meta, out_bytes, out_len,
                                           err, sizeof err);
    free(meta);
    return status == LL_OK ? LL_OK : ll_fail(status, "%s", err);
}
