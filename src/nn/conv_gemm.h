// The three GEMM-shaped passes both convolution layers are made of, each reading its im2col matrix
// implicitly from a zero-padded copy of the images (offset tables, no column matrix, no col2im).
// In ConvGeom terms the "big" grid is the convolution's input, the "small" grid its output.
#ifndef LL_CONV_GEMM_H
#define LL_CONV_GEMM_H

#include "im2col.h"

// Whether one image of each pass fits the workspace (else the caller takes the plain path).
int convg_fits(ConvGeom g, const Workspace *ws);
// y (B, c_small, small) += w (c_small, channels*k*k) applied as a convolution to x (B, channels, big).
void convg_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g, const Workspace *ws);
// The same with w stored (channels, c_small, k, k) and its taps reversed: for stride 1, the input
// gradient of a convolution and the forward pass of a transposed one are this, applied to the
// other side's grid padded by k - 1 - pad.
void convg_flipped_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g,
                           const Workspace *ws);
// dw (c_small, channels*k*k) += dy (B, c_small, small) times im2col(x)^T.
void convg_weight_grad(float *dw, const float *dy, const float *x, int c_small, int batch, ConvGeom g,
                       const Workspace *ws);

#endif
