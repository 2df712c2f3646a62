// Elementwise pieces: ReLU (applied in place, its backward masks by the saved output) and the
// sigmoid / binary cross-entropy pair computed from logits so it never takes log(0).
#ifndef LL_ACTIVATIONS_H
#define LL_ACTIVATIONS_H

#include <stddef.h>

void relu_forward(float *x, size_t n);
// dx *= (out > 0), in place on the gradient.
void relu_backward(float *dx, const float *out, size_t n);
void sigmoid_forward(float *out, const float *logits, size_t n);
// Sum over n pixels of BCE(sigmoid(logit), target) = max(l,0) - l*t + log(1 + e^-|l|).
// If dlogits is not NULL it gets (sigmoid(l) - t) * scale.
double bce_with_logits(float *dlogits, const float *logits, const float *target, size_t n, float scale);

#endif
