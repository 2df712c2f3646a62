// Conv2d forward/backward. A chunk of nb images is unfolded side by side into one column matrix
// (c_in*k*k, nb*P) so every GEMM is wide, then the channel-major result is scattered back to NCHW.
#include "conv2d.h"
#include "gemm.h"

static ConvGeom geom_of(ConvShape s) {
    return (ConvGeom){s.c_in, s.h_in, s.w_in, s.h_out, s.w_out, s.k, s.stride, s.pad};
}

void conv2d_forward(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                    const Workspace *ws) {
    ConvGeom g = geom_of(s);
    int P = s.h_out * s.w_out, K = s.c_in * s.k * s.k;
    size_t in_size = (size_t)s.c_in * s.h_in * s.w_in, out_size = (size_t)s.c_out * P;
    for (int b0 = 0; b0 < batch;) {
        int nb = images_per_chunk(ws, (size_t)K * P, out_size, batch - b0);
        int N = nb * P;
        for (int i = 0; i < nb; i++) im2col(ws->col + (size_t)i * P, N, inp + (b0 + i) * in_size, g);
        // tmp (c_out, nb*P) = w (c_out, K) * col (K, nb*P)
        gemm(ws->tmp, N, (MatView){w, K, 1}, (MatView){ws->col, N, 1}, s.c_out, N, K, 0, ws->gemm);
        for (int i = 0; i < nb; i++)
            for (int o = 0; o < s.c_out; o++) {
                float *dst = out + (b0 + i) * out_size + (size_t)o * P;
                const float *src = ws->tmp + (size_t)o * N + (size_t)i * P;
                for (int p = 0; p < P; p++) dst[p] = src[p] + b[o];
            }
        b0 += nb;
    }
}

void conv2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
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
                db[o] += sum;
            }
        for (int i = 0; i < nb; i++) im2col(ws->col + (size_t)i * P, N, inp + (b0 + i) * in_size, g);
        // dw (c_out, K) += dout (c_out, N) * col^T (N, K)
        gemm(dw, K, (MatView){ws->tmp, N, 1}, (MatView){ws->col, 1, N}, s.c_out, K, N, 1, ws->gemm);
        if (dinp) {
            // dcol (K, N) = w^T (K, c_out) * dout (c_out, N), written over col, then folded back.
            gemm(ws->col, N, (MatView){w, 1, K}, (MatView){ws->tmp, N, 1}, K, N, s.c_out, 0, ws->gemm);
            for (int i = 0; i < nb; i++) col2im_add(dinp + (b0 + i) * in_size, ws->col + (size_t)i * P, N, g);
        }
        b0 += nb;
    }
}
