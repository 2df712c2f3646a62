// Linear (fully connected) layer as PyTorch defines it: out = inp * w^T + b, with inp (B, in),
// w (out, in), b (out). Backward accumulates (+=) into dinp, dw and db.
#ifndef LL_LINEAR_H
#define LL_LINEAR_H

#include "im2col.h"

void linear_forward(float *out, const float *inp, const float *w, const float *b, int batch, int n_in, int n_out,
                    const Workspace *ws);
// dinp may be NULL when the input needs no gradient; dw and db both NULL for the input gradient only,
// dw alone NULL when the weight gradient is formed elsewhere (data-parallel shares, vae.c).
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int batch, int n_in, int n_out, const Workspace *ws);

#endif
