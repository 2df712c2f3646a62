// ReLU, sigmoid and BCE-with-logits. ReLU has f32x4 paths (a mask, exact: the same results as the
// plain loops, which are their twins and tails); the rest is scalar, a fraction of a percent of a step.
#include "activations.h"

#include <math.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

void relu_forward(float *x, size_t n) {
    size_t i = 0;
#ifdef __wasm_simd128__
    v128_t zero = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= n; i += 4) {
        v128_t v = wasm_v128_load(x + i);
        wasm_v128_store(x + i, wasm_v128_and(v, wasm_f32x4_gt(v, zero))); // NaN > 0 is false, as below
    }
#endif
    for (; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *out, size_t n) {
    size_t i = 0;
#ifdef __wasm_simd128__
    v128_t zero = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dx + i), wasm_f32x4_gt(wasm_v128_load(out + i), zero)));
#endif
    for (; i < n; i++) dx[i] = out[i] > 0.0f ? dx[i] : 0.0f;
}

void sigmoid_forward(float *out, const float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-logits[i]));
}

double bce_with_logits(float *dlogits, const float *logits, const float *target, size_t n, float scale) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float l = logits[i], t = target[i];
        float e = expf(-fabsf(l)); // in (0, 1]: no overflow for any logit
        sum += (double)((l > 0.0f ? l : 0.0f) - l * t + log1pf(e));
        if (dlogits) {
            float sig = l >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
            dlogits[i] = (sig - t) * scale;
        }
    }
    return sum;
}
