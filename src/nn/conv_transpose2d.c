// ConvTranspose2d forward/backward. The forward pass is the input gradient of the matching
// convolution (output grid -> input grid), and the backward pass is that convolution. Fast paths:
// for kernel 4 stride 2, the forward pass (four output-pixel phases), the weight gradient and the
// input gradient by Winograd's F(2x2, 2x2) (conv_winograd.c); otherwise implicit columns
// (conv_gemm.c). The plain path (GEMM + col2im), kept as the reference the tests compare against and for
// the forward pass of other shapes.
#include "conv_transpose2d.h"
#include "conv_direct.h"
#include "conv_gemm.h"
#include "conv_winograd.h"
#include "gemm.h"

#include <string.h>

// The convolution this layer transposes: it maps the large output grid onto the small input grid.
static ConvGeom geom_of(ConvShape s) {
    return (ConvGeom){s.c_out, s.h_out, s.w_out, s.h_in, s.w_in, s.k, s.stride, s.pad};
}

// tmp (c_in, nb*Pi) <- channel-major copy of nb input images.
static void gather_channels(float *tmp, const float *inp, int nb, int channels, int P) {
    int N = nb * P;
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < channels; c++)
            memcpy(tmp + (size_t)c * N + (size_t)i * P, inp + ((size_t)i * channels + c) * P, P * sizeof(float));
}

static void forward_plain(float *out, const float *inp, const float *w, const float *b, int batch,
                          ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    int Pi = s.h_in * s.w_in, Po = s.h_out * s.w_out, Kb = s.c_out * s.k * s.k;
    size_t in_size = (size_t)s.c_in * Pi, out_size = (size_t)s.c_out * Po;
    for (int b0 = 0; b0 < batch;) {
        int nb = images_per_chunk(ws, (size_t)Kb * Pi, in_size, batch - b0);
        int N = nb * Pi;
        gather_channels(ws->tmp, inp + b0 * in_size, nb, s.c_in, Pi);
        // col (Kb, N) = w^T (Kb, c_in) * inp (c_in, N)
        gemm_par(ws->pool, ws->col, N, matview(w, 1, Kb), matview(ws->tmp, N, 1), Kb, N, s.c_in, 0, ws->gemm);
        for (int i = 0; i < nb; i++) {
            float *img = out + (b0 + i) * out_size;
            for (int o = 0; o < s.c_out; o++)
                for (int p = 0; p < Po; p++) img[(size_t)o * Po + p] = b[o];
            col2im_add(img, ws->col + (size_t)i * Pi, N, g);
        }
        b0 += nb;
    }
}

static void backward_plain(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, int batch, ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    int Pi = s.h_in * s.w_in, Po = s.h_out * s.w_out, Kb = s.c_out * s.k * s.k;
    size_t in_size = (size_t)s.c_in * Pi, out_size = (size_t)s.c_out * Po;
    for (int b0 = 0; b0 < batch;) {
        int nb = images_per_chunk(ws, (size_t)Kb * Pi, in_size, batch - b0);
        int N = nb * Pi;
        for (int i = 0; i < nb; i++) {
            const float *img = dout + (b0 + i) * out_size;
            if (db) bias_grad_add(db, img, 1, s.c_out, Po);
            im2col(ws->col + (size_t)i * Pi, N, img, g);
        }
        if (dw) {
            gather_channels(ws->tmp, inp + b0 * in_size, nb, s.c_in, Pi);
            // dw (c_in, Kb) += inp (c_in, N) * dcol^T (N, Kb)
            gemm_par(ws->pool, dw, Kb, matview(ws->tmp, N, 1), matview(ws->col, 1, N), s.c_in, Kb, N, 1, ws->gemm);
        }
        if (dinp) {
            // dinp (c_in, N) = w (c_in, Kb) * dcol (Kb, N), into tmp, then scattered back to NCHW.
            gemm_par(ws->pool, ws->tmp, N, matview(w, Kb, 1), matview(ws->col, N, 1), s.c_in, N, Kb, 0, ws->gemm);
            for (int i = 0; i < nb; i++)
                for (int c = 0; c < s.c_in; c++) {
                    float *dst = dinp + (b0 + i) * in_size + (size_t)c * Pi;
                    const float *src = ws->tmp + (size_t)c * N + (size_t)i * Pi;
                    for (int p = 0; p < Pi; p++) dst[p] += src[p];
                }
        }
        b0 += nb;
    }
}

// --- the layer -------------------------------------------------------------------------------
void conv_transpose2d_forward(float *out, const float *inp, const float *w, const float *b, int batch,
                              ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    if (!ws->reference && convd_transposed_covers(s, ws)) { // one output channel (deconv3): direct kernels
        convd_transposed_forward(out, inp, w, b, batch, s, ws);
        return;
    }
    if (ws->reference || !convw_transposed_fits(g, s.c_in, ws)) {
        forward_plain(out, inp, w, b, batch, s, ws);
        return;
    }
    convw_transposed_k4s2(out, inp, w, b, s.c_in, batch, g, ws);
}

void conv_transpose2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, int batch, ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    if (ws->reference || !convg_fits(g, ws)) {
        backward_plain(dinp, dw, db, dout, inp, w, batch, s, ws);
        return;
    }
    if (dw) {
        bias_grad_add(db, dout, batch, s.c_out, s.h_out * s.w_out);
        // One output channel (deconv3): a direct kernel. Otherwise
        // dw (c_in, c_out*k*k) += inp (c_in, small) times im2col(dout)^T.
        if (convd_transposed_covers(s, ws)) convd_transposed_weight_grad(dw, dout, inp, batch, s, ws);
        else if (convw_weight_fits(g, s.c_in, ws)) convw_weight_grad(dw, inp, dout, s.c_in, batch, g, ws);
        else convg_weight_grad(dw, inp, dout, s.c_in, batch, g, ws);
    }
    // dinp += w applied as a convolution to dout
    if (dinp && convw_fits(g, s.c_in, ws)) convw_forward_k4s2(dinp, dout, w, s.c_in, batch, g, ws);
    else if (dinp) convg_forward(dinp, dout, w, s.c_in, batch, g, ws);
}
