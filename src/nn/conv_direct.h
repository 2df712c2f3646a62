// Direct (no GEMM) kernels for a ConvTranspose2d to one output channel with stride 1 (the model's
// deconv3). Same layouts and += conventions as conv_transpose2d.h.
#ifndef LL_CONV_DIRECT_H
#define LL_CONV_DIRECT_H

#include "im2col.h"

// Whether the shape is one these kernels take and one image fits the workspace.
int convd_transposed_covers(ConvShape s, const Workspace *ws);

// ConvTranspose2d, c_out = 1, stride 1: out = the layer's output (written); dw += the weight
// gradient (the bias gradient is left to the caller).
void convd_transposed_forward(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                              const Workspace *ws);
void convd_transposed_weight_grad(float *dw, const float *dout, const float *inp, int batch, ConvShape s,
                                  const Workspace *ws);

#endif
