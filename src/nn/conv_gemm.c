// Convolution passes as GEMMs over implicit operands. Every pass copies a chunk of images into
// zero-padded planes, builds offset tables once, and lets the GEMM's packing gather the columns.
#include "conv_gemm.h"
#include "gemm.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

enum { PAD_CHUNK_FLOATS = 1 << 16 };

static PaddedGeom big_padded(ConvGeom g) {
    return padded_geom(g.channels, g.h, g.w, g.pad, g.k, g.stride, g.h_out, g.w_out);
}

static PaddedGeom small_padded(ConvGeom g, int c_small) {
    return padded_geom(c_small, g.h_out, g.w_out, 1, 3, 1, g.h_out, g.w_out); // a 1-pixel zero border
}

// Images per chunk: the padded copy fits the column buffer, and `fixed` + `per_pixel` * pixels
// table entries fit the index buffer. At least 0 (then the pass does not fit).
static int chunk_images(const Workspace *ws, PaddedGeom p, size_t fixed, size_t per_image_ints) {
    // The padded copy is read panel by panel, each panel touching every plane: kept to 256 KiB it
    // stays in L2 beside the packed block (1 MiB chunks measured 10-25% slower).
    size_t room = ws->col_floats < PAD_CHUNK_FLOATS ? ws->col_floats : PAD_CHUNK_FLOATS;
    size_t by_col = room > 16 ? (room - 16) / p.imgp : 0;
    size_t by_idx = ws->idx_ints > fixed ? (ws->idx_ints - fixed) / per_image_ints : 0;
    return (int)(by_col < by_idx ? by_col : by_idx);
}

// Images per chunk of the phase path: the padded copy of the small grid, then two phases' outputs
// (channels, nb*P) each, share the column buffer.
static int phase_chunk_images(const Workspace *ws, ConvGeom g, int c_small) {
    PaddedGeom p = small_padded(g, c_small);
    size_t P = (size_t)g.h_out * g.w_out;
    int nb = chunk_images(ws, p, 8 * (size_t)c_small, P);
    while (nb > 0 && padded_floats(p, nb) + 2 * (size_t)g.channels * P * nb + 4 > ws->col_floats) nb--;
    return nb;
}

int convg_is_k4s2p1(ConvGeom g) {
    return g.k == 4 && g.stride == 2 && g.pad == 1 && g.h == 2 * g.h_out && g.w == 2 * g.w_out;
}

int convg_fits(ConvGeom g, int c_small, const Workspace *ws) {
    size_t P = (size_t)g.h_out * g.w_out, K = (size_t)g.channels * g.k * g.k;
    if (chunk_images(ws, big_padded(g), 2 * K, 2 * P) < 1) return 0;
    if (convg_is_k4s2p1(g) && phase_chunk_images(ws, g, c_small) < 1) return 0;
    return 1;
}

// k_off[(c, ky, kx)]: where a window element sits relative to the window's top-left pixel.
static void window_offsets(int *k_off, PaddedGeom p, int k) {
    for (int c = 0; c < p.channels; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) *k_off++ = c * p.chp + ky * p.wp + kx;
}

// For output pixel n = (image, oy, ox) of nb images: n_off, its window's top-left pixel in the
// padded copy; s_off, its place in an NCHW tensor of c channels on the small grid.
static void pixel_offsets(int *n_off, int *s_off, PaddedGeom p, int nb, int h_out, int w_out, int stride, int c) {
    for (int i = 0; i < nb; i++)
        for (int y = 0; y < h_out; y++)
            for (int x = 0; x < w_out; x++) {
                *n_off++ = i * p.imgp + y * stride * p.wp + x * stride;
                *s_off++ = (i * c * h_out + y) * w_out + x;
            }
}

// y += A conv x, A (c_small, channels*k*k) either w itself or, when flipped, w stored
// (channels, c_small, k, k) read with its taps reversed (see convg_flipped_forward).
static void forward_impl(float *y, const float *x, const float *w, int flipped, int c_small, int batch, ConvGeom g,
                         const Workspace *ws) {
    PaddedGeom p = big_padded(g);
    int P = g.h_out * g.w_out, kk = g.k * g.k, K = g.channels * kk;
    size_t x_img = (size_t)g.channels * g.h * g.w, y_img = (size_t)c_small * P;
    int nb_max = chunk_images(ws, p, 2 * (size_t)K, 2 * (size_t)P);
    if (nb_max > batch) nb_max = batch;
    int *k_off = ws->idx, *a_off = k_off + K, *n_off = a_off + K, *s_off = n_off + (size_t)nb_max * P;
    window_offsets(k_off, p, g.k);
    pixel_offsets(n_off, s_off, p, nb_max, g.h_out, g.w_out, g.stride, c_small);
    MatView a = matview(w, K, 1);
    if (flipped) {
        for (int c = 0; c < g.channels; c++)
            for (int t = 0; t < kk; t++) a_off[c * kk + t] = c * c_small * kk + (kk - 1 - t);
        a = (MatView){w, kk, 0, NULL, a_off, 0};
    }
    // The weights are packed into the micro-kernel's panels once, not once per chunk and column block.
    if (gemm_packed_a_floats(c_small, K) <= ws->tmp_floats) {
        gemm_pack_a(ws->tmp, a, c_small, K);
        a = matview_packed(ws->tmp);
    }
    for (int b0 = 0; b0 < batch; b0 += nb_max) {
        int nb = batch - b0 < nb_max ? batch - b0 : nb_max;
        pad_images(ws->pool, ws->col, x + b0 * x_img, nb, p);
        // y (c_small, nb*P) += A (c_small, K) * col (K, nb*P), col(q, n) = padded[k_off[q] + n_off[n]]
        MatView col = {ws->col, 0, 0, k_off, n_off, 0};
        gemm_ex_par(ws->pool, y + b0 * y_img, P, s_off, a, col, c_small, nb * P, K, 1, ws->gemm);
    }
}

void convg_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g, const Workspace *ws) {
    forward_impl(y, x, w, 0, c_small, batch, g, ws);
}

void convg_flipped_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g,
                           const Workspace *ws) {
    forward_impl(y, x, w, 1, c_small, batch, g, ws);
}

void convg_weight_grad(float *dw, const float *dy, const float *x, int c_small, int batch, ConvGeom g,
                       const Workspace *ws) {
    PaddedGeom p = big_padded(g);
    int P = g.h_out * g.w_out, K = g.channels * g.k * g.k;
    size_t x_img = (size_t)g.channels * g.h * g.w, y_img = (size_t)c_small * P;
    int nb_max = chunk_images(ws, p, K, 2 * (size_t)P);
    if (nb_max > batch) nb_max = batch;
    int *k_off = ws->idx, *n_off = k_off + K, *s_off = n_off + (size_t)nb_max * P;
    window_offsets(k_off, p, g.k);
    pixel_offsets(n_off, s_off, p, nb_max, g.h_out, g.w_out, g.stride, c_small);
    for (int b0 = 0; b0 < batch; b0 += nb_max) {
        int nb = batch - b0 < nb_max ? batch - b0 : nb_max;
        pad_images(ws->pool, ws->col, x + b0 * x_img, nb, p);
        // dw (c_small, K) += dy (c_small, nb*P) * col^T (nb*P, K)
        MatView dyv = {dy + b0 * y_img, P, 0, NULL, s_off, 0};
        MatView colt = {ws->col, 0, 0, n_off, k_off, 0};
        gemm_par(ws->pool, dw, K, dyv, colt, c_small, K, nb * P, 1, ws->gemm);
    }
}

// Rows 2qy + py of image i of nb: x (+)= the two phases' outputs t0, t1 (channels, nb*P) interleaved,
// t0 on the even pixels and t1 on the odd ones; with bias, x = bias + them instead (no read of x).
// The f32x4 path does the same single add per pixel as the plain loop, its twin and tail.
static void interleave_image(float *x, const float *t0, const float *t1, const float *bias, int nb, int py, ConvGeom g,
                             int i) {
    int P = g.h_out * g.w_out, N = nb * P, W2 = g.w;
    size_t x_img = (size_t)g.channels * g.h * g.w;
    for (int o = 0; o < g.channels; o++)
        for (int qy = 0; qy < g.h_out; qy++) {
            const float *e = t0 + (size_t)o * N + i * P + qy * g.w_out, *f = t1 + (e - t0);
            float *d = x + i * x_img + (size_t)o * g.h * g.w + (2 * qy + py) * W2;
            int qx = 0;
#ifdef __wasm_simd128__
            v128_t bv = wasm_f32x4_splat(bias ? bias[o] : 0.0f);
            for (; qx + 4 <= g.w_out; qx += 4) {
                v128_t ev = wasm_v128_load(e + qx), fv = wasm_v128_load(f + qx);
                v128_t lo = wasm_i32x4_shuffle(ev, fv, 0, 4, 1, 5), hi = wasm_i32x4_shuffle(ev, fv, 2, 6, 3, 7);
                float *dq = d + 2 * qx;
                v128_t base0 = bias ? bv : wasm_v128_load(dq), base1 = bias ? bv : wasm_v128_load(dq + 4);
                wasm_v128_store(dq, wasm_f32x4_add(base0, lo));
                wasm_v128_store(dq + 4, wasm_f32x4_add(base1, hi));
            }
#endif
            if (bias) {
                for (; qx < g.w_out; qx++) {
                    d[2 * qx] = bias[o] + e[qx];
                    d[2 * qx + 1] = bias[o] + f[qx];
                }
            } else {
                for (; qx < g.w_out; qx++) {
                    d[2 * qx] += e[qx];
                    d[2 * qx + 1] += f[qx];
                }
            }
        }
}

typedef struct {
    float *x;
    const float *t0, *t1, *bias;
    int nb, py;
    ConvGeom g;
} Interleave;

static void interleave_task(void *ctx, int i, int thread) {
    (void)thread;
    const Interleave *v = ctx;
    interleave_image(v->x, v->t0, v->t1, v->bias, v->nb, v->py, v->g, i);
}

// Every image of the chunk, an image a task.
static void interleave_phases(Pool *pool, float *x, const float *t0, const float *t1, const float *bias, int nb, int py,
                              ConvGeom g) {
    pool_run(pool, nb, interleave_task, &(Interleave){x, t0, t1, bias, nb, py, g});
}

// Output pixel (2qy + py, 2qx + px) of the transposed convolution gathers input pixels
// (qy + py - 1 + dy, qx + px - 1 + dx), dy, dx in {0, 1}, through kernel tap (3 - py - 2dy, 3 - px - 2dx):
// in the copy padded by one pixel, the window of phase (py, px) starts at (qy + py, qx + px).
// Each phase is a plain GEMM into a contiguous (channels, nb*P) buffer; the two phases of a row
// parity are then interleaved into whole output rows with f32x4 stores (a GEMM writing every other
// pixel straight into x stores its tiles one float at a time).
void convg_transposed_k4s2(float *x, const float *y, const float *w, const float *bias, int c_small, int batch,
                           ConvGeom g, const Workspace *ws) {
    PaddedGeom p = small_padded(g, c_small);
    int P = g.h_out * g.w_out, K = 4 * c_small;
    size_t x_img = (size_t)g.channels * g.h * g.w, y_img = (size_t)c_small * P;
    int nb_max = phase_chunk_images(ws, g, c_small);
    if (nb_max > batch) nb_max = batch;
    int *k_off = ws->idx, *a_off = k_off + K, *n_off = a_off + K;
    for (int i = 0, n = 0; i < nb_max; i++)
        for (int qy = 0; qy < g.h_out; qy++)
            for (int qx = 0; qx < g.w_out; qx++, n++) n_off[n] = i * p.imgp + qy * p.wp + qx;
    // Each phase's weights (channels, K), gathered from w through a table and packed into the
    // micro-kernel's panels once per call; where the four do not fit, the GEMM gathers them itself.
    size_t phase_floats = gemm_packed_a_floats(g.channels, K);
    int prepacked = 4 * phase_floats <= ws->tmp_floats;
    for (int ph = 0; ph < 4 && prepacked; ph++) {
        int py = ph >> 1, px = ph & 1;
        for (int c = 0, q = 0; c < c_small; c++)
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++, q++)
                    a_off[q] = c * g.channels * 16 + (3 - py - 2 * dy) * 4 + (3 - px - 2 * dx);
        gemm_pack_a(ws->tmp + ph * phase_floats, (MatView){w, 16, 0, NULL, a_off, 0}, g.channels, K);
    }
    float *t[2];
    t[0] = ws->col + ((padded_floats(p, nb_max) + 3) & ~(size_t)3);
    t[1] = t[0] + (size_t)g.channels * nb_max * P;
    for (int b0 = 0; b0 < batch; b0 += nb_max) {
        int nb = batch - b0 < nb_max ? batch - b0 : nb_max;
        pad_images(ws->pool, ws->col, y + b0 * y_img, nb, p);
        for (int py = 0; py < 2; py++) {
            for (int px = 0; px < 2; px++) {
                for (int c = 0, q = 0; c < c_small; c++)
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++, q++) {
                            k_off[q] = c * p.chp + (py + dy) * p.wp + px + dx;
                            a_off[q] = c * g.channels * 16 + (3 - py - 2 * dy) * 4 + (3 - px - 2 * dx);
                        }
                // t[px] (channels, nb*P) = w_phase (channels, K) * col_phase (K, nb*P)
                MatView wv = prepacked ? matview_packed(ws->tmp + (2 * py + px) * phase_floats)
                                       : (MatView){w, 16, 0, NULL, a_off, 0};
                MatView col = {ws->col, 0, 0, k_off, n_off, 0};
                gemm_par(ws->pool, t[px], nb * P, wv, col, g.channels, nb * P, K, 0, ws->gemm);
            }
            interleave_phases(ws->pool, x + b0 * x_img, t[0], t[1], bias, nb, py, g);
        }
    }
}
