// libFuzzer target: safetensors files (src/io/safetensors.c). Any input is parsed; an accepted file's
// tensors must lie inside the input, and it is then offered to the model loader, which must refuse
// anything but the model's exact tensors without a sanitizer report.
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"
#include "io/vae_safetensors.h"
#include "status.h"
#include "vae.h"

static float *params;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[400];
    StFile f;
    if (st_parse(&f, data, size, err, sizeof err) != LL_OK) return 0;
    for (size_t i = 0; i < f.num_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        if (t->data < data || t->end < t->begin || t->data + (t->end - t->begin) > data + size) abort();
    }
    if (!params) params = malloc(vae_num_params() * sizeof(float));
    if (params) vae_params_from_safetensors(params, &f, err, sizeof err);
    st_free(&f);
    return 0;
}
