// Conv2d forward/backward. The fast paths: for kernel 4 stride 2, the forward pass, the weight
// gradient and the input gradient (a four-phase transposed convolution) by Winograd's F(2x2, 2x2),
// for kernel 3 stride 1 pad 1 all three by F(2x2, 3x3) (conv_winograd.c); otherwise implicit
// columns read from a zero-padded copy (conv_gemm.c).
// The plain path, kept as the reference the tests compare against and for input gradients of other
// shapes: a chunk of nb images unfolded side by side into one column matrix (c_in*k*k, nb*P) so every
// GEMM is wide, the channel-major result scattered back to NCHW, col2im for the input gradient.
#include "conv2d.h"
#include "conv_gemm.h"
#include "conv_winograd.h"
#include "gemm.h"

static ConvGeom geom_of(ConvShape s) {
    return (ConvGeom){s.c_in, s.h_in, s.w_in, s.h_out, s.w_out, s.k, s.stride, s.pad};
}

static void forward_plain(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                          const Workspace *ws) {
    ConvGeom g = geom_of(s);
    int P = s.h_out * s.w_out, K = s.c_in * s.k * s.k;
    size_t in_size = (size_t)s.c_in * s.h_in * s.w_in, out_size = (size_t)s.c_out * P;
    for (int b0 = 0; b0 < batch;) {
        int nb = images_per_chunk(ws, (size_t)K * P, out_size, batch - b0);
        int N = nb * P;
        for (int i = 0; i < nb; i++) im2col(ws->col + (size_t)i * P, N, inp + (b0 + i) * in_size, g);
        // tmp (c_out, nb*P) = w (c_out, K) * col (K, nb*P)
        gemm_par(ws->pool, ws->tmp, N, matview(w, K, 1), matview(ws->col, N, 1), s.c_out, N, K, 0, ws->gemm);
        for (int i = 0; i < nb; i++)
            for (int o = 0; o < s.c_out; o++) {
                float *dst = out + (b0 + i) * out_size + (size_t)o * P;
                const float *src = ws->tmp + (size_t)o * N + (size_t)i * P;
                for (int p = 0; p < P; p++) dst[p] = src[p] + b[o];
            }
        b0 += nb;
    }
}

// dw and db may be NULL: then only the input gradient is taken.
static void backward_plain(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                           int batch, ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    int P = s.h_out * s.w_out, K = s.c_in * s.k * s.k;
    size_t in_size = (size_t)s.c_in * s.h_in * s.w_in, out_size = (size_t)s.c_out * P;
    for (int b0 = 0; b0 < batch;) {
        int nb = images_per_chunk(ws, (size_t)K * P, out_size, batch - b0);
        int N = nb * P;
        // Gather dout into channel-major (c_out, nb*P); the bias gradient is its row sums.
        for (int i = 0; i < nb; i++)
            for (int o = 0; o < s.c_out; o++) {
                const float *src = dout + (b0 + i) * out_size + (size_t)o * P;
                float *dst = ws->tmp + (size_t)o * N + (size_t)i * P;
                float sum = 0.0f;
                for (int p = 0; p < P; p++) { dst[p] = src[p]; sum += src[p]; }
                if (db) db[o] += sum;
            }
        if (dw) {
            for (int i = 0; i < nb; i++) im2col(ws->col + (size_t)i * P, N, inp + (b0 + i) * in_size, g);
            // dw (c_out, K) += dout (c_out, N) * col^T (N, K)
            gemm_par(ws->pool, dw, K, matview(ws->tmp, N, 1), matview(ws->col, 1, N), s.c_out, K, N, 1, ws->gemm);
        }
        if (dinp) {
            // dcol (K, N) = w^T (K, c_out) * dout (c_out, N), written over col, then folded back.
            gemm_par(ws->pool, ws->col, N, matview(w, 1, K), matview(ws->tmp, N, 1), K, N, s.c_out, 0, ws->gemm);
            for (int i = 0; i < nb; i++) col2im_add(dinp + (b0 + i) * in_size, ws->col + (size_t)i * P, N, g);
        }
        b0 += nb;
    }
}

// --- the layer -------------------------------------------------------------------------------
void conv2d_forward(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                    const Workspace *ws) {
    ConvGeom g = geom_of(s);
    if (ws->reference || !convg_fits(g, ws)) {
        forward_plain(out, inp, w, b, batch, s, ws);
        return;
    }
    int P = s.h_out * s.w_out;
    for (int i = 0; i < batch; i++)
        for (int o = 0; o < s.c_out; o++) {
            float *dst = out + ((size_t)i * s.c_out + o) * P;
            for (int p = 0; p < P; p++) dst[p] = b[o];
        }
    if (convw_fits(g, s.c_out, ws)) convw_forward_k4s2(out, inp, w, s.c_out, batch, g, ws);
    else if (convw3_fits(g, s.c_out, ws)) convw3_forward(out, inp, w, 0, s.c_out, batch, g, ws);
    else convg_forward(out, inp, w, s.c_out, batch, g, ws);
}

void conv2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int batch, ConvShape s, const Workspace *ws) {
    ConvGeom g = geom_of(s);
    if (ws->reference || !convg_fits(g, ws)) {
        backward_plain(dinp, dw, db, dout, inp, w, batch, s, ws);
        return;
    }
    if (dw) {
        bias_grad_add(db, dout, batch, s.c_out, s.h_out * s.w_out);
        if (convw_weight_fits(g, s.c_out, ws)) convw_weight_grad(dw, dout, inp, s.c_out, batch, g, ws);
        else convg_weight_grad(dw, dout, inp, s.c_out, batch, g, ws);
    }
    if (!dinp) return;
    // The input gradient is the transposed convolution of dout: four phases for kernel 4 stride 2.
    // Stride 1: a convolution of dout, padded by k - 1 - pad, with the kernel flipped.
    ConvGeom flip = {s.c_out, s.h_out, s.w_out, s.h_in, s.w_in, s.k, 1, s.k - 1 - s.pad};
    if (convw_transposed_fits(g, s.c_out, ws)) convw_transposed_k4s2(dinp, dout, w, NULL, s.c_out, batch, g, ws);
    else if (s.stride == 1 && convw3_fits(flip, s.c_in, ws)) convw3_forward(dinp, dout, w, 1, s.c_in, batch, flip, ws);
    else if (s.stride == 1 && convg_fits(flip, ws)) convg_flipped_forward(dinp, dout, w, s.c_in, batch, flip, ws);
    else backward_plain(dinp, NULL, NULL, dout, inp, w, batch, s, ws);
}
