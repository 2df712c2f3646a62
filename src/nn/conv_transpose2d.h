// ConvTranspose2d as PyTorch defines it: the adjoint of the Conv2d with the same kernel, stride and
// padding. Layouts: images (B, C, H, W), weights (c_in, c_out, k, k), bias (c_out). In ConvShape,
// c_in/h_in/w_in is the small input grid, c_out/h_out/w_out the large output grid.
// Backward accumulates (+=) into dinp, dw and db;
// dinp may be NULL (no input gradient), or dw and db both NULL (only the input gradient).
#ifndef LL_CONV_TRANSPOSE2D_H
#define LL_CONV_TRANSPOSE2D_H

#include "im2col.h"

void conv_transpose2d_forward(float *out, const float *inp, const float *w, const float *b, int batch,
                              ConvShape s, const Workspace *ws);
void conv_transpose2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, int batch, ConvShape s, const Workspace *ws);

#endif
