// Convolutions by Winograd's minimal filtering. The kernel-4, stride-2, pad-1 passes by F(2x2, 2x2):
// 9 products for every 2x2 tile of outputs of each of the four phases instead of 16; kernel 3, stride
// 1, pad 1 by F(2x2, 3x3) (below); the weight gradients of both. In ConvGeom terms the "big" grid is the
// convolution's input (the transposed pass's output), the "small" grid its output.
#ifndef LL_CONV_WINOGRAD_H
#define LL_CONV_WINOGRAD_H

#include "im2col.h"

// Whether each pass takes this shape (kernel 4, stride 2, pad 1, big = 2 x small; four channels or
// more on the big grid, and for the convolution on the small grid too) and fits the workspace: its
// transformed weights in tmp, one image's group in the column buffer. Else the caller takes another path.
int convw_transposed_fits(ConvGeom g, int c_small, const Workspace *ws);
int convw_fits(ConvGeom g, int c_small, const Workspace *ws);
// x (B, channels, big) += the transposed convolution of y (B, c_small, small) with w (c_small,
// channels, 4, 4); with bias (channels), x = bias + that instead: x is written, not read.
// deconv1 and deconv2's forward passes, conv2's input gradient.
void convw_transposed_k4s2(float *x, const float *y, const float *w, const float *bias, int c_small, int batch,
                           ConvGeom g, const Workspace *ws);
// y (B, c_small, small) += w (c_small, channels, 4, 4) applied as a convolution to x (B, channels,
// big): conv2's forward pass, deconv1 and deconv2's input gradients.
void convw_forward_k4s2(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g,
                        const Workspace *ws);
// Kernel 3, stride 1, pad 1 by F(2x2, 3x3) (16 products for a 2x2 tile of outputs instead of 36):
// whether the shape (four channels or more on both sides) fits; y (B, c_small, h, w) += w (c_small,
// channels, 3, 3) applied to x (B, channels, h, w), or with flipped, w stored (channels, c_small, 3,
// 3) with its taps reversed (a convolution's input gradient). conv3's forward pass and input gradient.
int convw3_fits(ConvGeom g, int c_small, const Workspace *ws);
void convw3_forward(float *y, const float *x, const float *w, int flipped, int c_small, int batch, ConvGeom g,
                    const Workspace *ws);
// Whether the weight gradient takes this shape (kernel 4, stride 2 as convw_fits; kernel 3, stride 1
// as convw3_fits) and fits the workspace: a chunk of at least one image with one channel's slice in
// a helper's area and in the column buffer.
int convw_weight_fits(ConvGeom g, int c_small, const Workspace *ws);
// dw (c_small, channels, k, k) += the correlation of dy (B, c_small, small) with x (B, channels,
// big) as convw_forward_k4s2 or convw3_forward applies w: conv2 and conv3's weight gradients, and
// deconv1 and deconv2's with their input as dy and their output gradient as x.
void convw_weight_grad(float *dw, const float *dy, const float *x, int c_small, int batch, ConvGeom g,
                       const Workspace *ws);

#endif
