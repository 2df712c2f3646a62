// ReLU, sigmoid and BCE-with-logits. Scalar on purpose: they are a few percent of a training step.
#include "activations.h"

#include <math.h>

void relu_forward(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = out[i] > 0.0f ? dx[i] : 0.0f;
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
