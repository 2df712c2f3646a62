// The transposed pass of kernel 4, stride 2, pad 1 (deconv1 and deconv2's forward pass, conv2's input
// gradient) by Winograd's F(2x2, 2x2): 9 products for every 2x2 tile of each output-pixel phase
// instead of 16. In ConvGeom terms the "big" grid is the output, the "small" grid the input.
#ifndef LL_CONV_WINOGRAD_H
#define LL_CONV_WINOGRAD_H

#include "im2col.h"

// Whether the pass fits the workspace: the transformed weights in tmp, one image's group in the
// column buffer (else the caller takes another path).
int convw_fits(ConvGeom g, int c_small, const Workspace *ws);
// x (B, channels, big) += the transposed convolution of y (B, c_small, small) with w (c_small,
// channels, 4, 4); with bias (channels), x = bias + that instead: x is written, not read.
// g must be kernel 4, stride 2, pad 1 with big = 2 x small (convg_is_k4s2p1).
void convw_transposed_k4s2(float *x, const float *y, const float *w, const float *bias, int c_small, int batch,
                           ConvGeom g, const Workspace *ws);

#endif
