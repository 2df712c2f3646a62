// Conv2d as PyTorch defines it (cross-correlation, square kernel, stride, zero padding), forward
// and backward, by im2col + GEMM over chunks of images. Layouts: images (B, C, H, W), weights
// (c_out, c_in, k, k), bias (c_out). Backward accumulates (+=) into dinp, dw and db;
// dinp may be NULL (no input gradient), or dw and db both NULL (only the input gradient).
#ifndef LL_CONV2D_H
#define LL_CONV2D_H

#include "im2col.h"

void conv2d_forward(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                    const Workspace *ws);
void conv2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int batch, ConvShape s, const Workspace *ws);

#endif
