// The model's parameters <-> safetensors, under the tensor names, shapes and layouts of the report
// authors' PyTorch state_dict (vae.h's table), so files move both ways between here and PyTorch.
// Not here: parsing the container (io/safetensors.c) or touching a live model (the caller copies).
#ifndef LL_VAE_SAFETENSORS_H
#define LL_VAE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"

// Every tensor of the table present with its exact shape, dtype F32 or F16 (widened exactly), every
// value finite, and no other tensor. Writes vae_num_params() floats in state_dict order into params,
// which is scratch on failure: pass a temporary buffer, not the model's. LL_OK or LL_EFORMAT + err.
int vae_params_from_safetensors(float *params, const StFile *f, char *err, size_t errlen);

// A file of every parameter as dtype ST_F32 or ST_F16 (rounded to nearest even; a value beyond
// float16's range is refused), in state_dict order, with the given string metadata. free(*out).
int vae_params_to_safetensors(const float *params, StDtype dtype, const StMeta *meta, size_t n_meta, uint8_t **out,
                              size_t *out_len, char *err, size_t errlen);

#endif
