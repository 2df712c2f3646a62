// Direct kernels for the model's thinnest convolution, a transposed convolution to one output
// channel (deconv3, stride 1), where a GEMM's 4x8 tile would be three quarters empty: each output
// row is a few f32x4 accumulators summed over shifted rows of a zero-padded copy, and each weight
// gradient tap one accumulator over a whole plane. No packing, no per-pixel offset tables. Not a
// general convolution: callers check convd_transposed_covers() and otherwise take conv_gemm.c.
// (Direct kernels for conv1 (one input channel) and for deconv3's input gradient measured no
// faster than their GEMMs, and were dropped.)
#include "conv_direct.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

// --- output rows ------------------------------------------------------------------------------
// out[x] = bias + the sum over q < nq of w[q] * src[off[q] + x], for x < n. Every pixel takes its
// taps in the order of q in both paths (the plain loop is the twin): the two builds give the same
// bits. The vector path reads up to 3 floats past src[off[q] + n - 1]; it writes out[x < n] only.
__attribute__((unused)) static void row_taps_plain(float *out, const float *src, const float *w, const int *off,
                                                   int nq, int n, float bias) {
    for (int x = 0; x < n; x++) {
        float sum = bias;
        for (int q = 0; q < nq; q++) sum += w[q] * src[off[q] + x];
        out[x] = sum;
    }
}

#ifdef __wasm_simd128__
// NV vectors (4*NV pixels, `tail` (1..4) of them valid in the last). Instantiated with constant NV
// so the accumulators live in registers.
static inline __attribute__((always_inline)) void seg_taps(float *out, const float *src, const float *w,
        const int *off, int nq, int tail, float bias, const int NV) {
    v128_t a[8];
    for (int v = 0; v < NV; v++) a[v] = wasm_f32x4_splat(bias);
    for (int q = 0; q < nq; q++) {
        v128_t wv = wasm_v128_load32_splat(w + q);
        const float *sq = src + off[q];
        for (int v = 0; v < NV; v++) a[v] = wasm_f32x4_add(a[v], wasm_f32x4_mul(wv, wasm_v128_load(sq + 4 * v)));
    }
    for (int v = 0; v < NV - 1; v++) wasm_v128_store(out + 4 * v, a[v]);
    float *last = out + 4 * (NV - 1);
    switch (tail) {
    case 1: wasm_v128_store32_lane(last, a[NV - 1], 0); break;
    case 2: wasm_v128_store64_lane(last, a[NV - 1], 0); break;
    case 3: wasm_v128_store64_lane(last, a[NV - 1], 0); wasm_v128_store32_lane(last + 2, a[NV - 1], 2); break;
    default: wasm_v128_store(last, a[NV - 1]);
    }
}
#endif

static void row_taps(float *out, const float *src, const float *w, const int *off, int nq, int n, float bias) {
#ifdef __wasm_simd128__
    for (int x0 = 0; x0 < n; x0 += 32) {
        int m = n - x0 < 32 ? n - x0 : 32, tail = m - (m - 1) / 4 * 4;
        float *o = out + x0;
        const float *sx = src + x0;
        switch ((m + 3) / 4) {
        case 1: seg_taps(o, sx, w, off, nq, tail, bias, 1); break;
        case 2: seg_taps(o, sx, w, off, nq, tail, bias, 2); break;
        case 3: seg_taps(o, sx, w, off, nq, tail, bias, 3); break;
        case 4: seg_taps(o, sx, w, off, nq, tail, bias, 4); break;
        case 5: seg_taps(o, sx, w, off, nq, tail, bias, 5); break;
        case 6: seg_taps(o, sx, w, off, nq, tail, bias, 6); break;
        case 7: seg_taps(o, sx, w, off, nq, tail, bias, 7); break;
        default: seg_taps(o, sx, w, off, nq, tail, bias, 8); break;
        }
    }
#else
    row_taps_plain(out, src, w, off, nq, n, bias);
#endif
}

// off[(c*k + ky)*k + kx] = c*chp + ky*wp + kx: a window's taps relative to its top-left pixel.
static void tap_offsets(int *off, int channels, int chp, int wp, int k) {
    for (int c = 0; c < channels; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) *off++ = c * chp + ky * wp + kx;
}

// --- ConvTranspose2d to one output channel, stride 1 ---------------------------------------------
// Forward: out = bias + a stride-1 convolution of the input, padded by k-1-pad, with the kernel
// flipped. Weight gradient: w[c][ky][kx] gathers input channel c times dout (padded by pad) shifted
// by (ky, kx).

int convd_transposed_covers(ConvShape s, const Workspace *ws) {
    if (s.c_out != 1 || s.stride != 1) return 0;
    int kk = s.k * s.k;
    PaddedGeom pf = padded_geom(s.c_in, s.h_in, s.w_in, s.k - 1 - s.pad, s.k, 1, s.h_out, s.w_out);
    PaddedGeom pb = padded_geom(1, s.h_out, s.w_out, s.pad, s.k, 1, s.h_in, s.w_in);
    return padded_floats(pf, 1) <= ws->col_floats && padded_floats(pb, 1) <= ws->col_floats &&
           (size_t)s.c_in * kk <= ws->tmp_floats && (size_t)s.c_in * kk <= ws->idx_ints;
}

typedef struct {
    const Workspace *ws;
    float *out;
    const float *inp, *wf;
    const int *off;
    float bias;
    int nq;
    ConvShape s;
    PaddedGeom p;
} DirectForward;

// Image i, a task: copied into its thread's area, then its output plane row by row.
static void forward_image(void *ctx, int i, int thread) {
    const DirectForward *f = ctx;
    float *area = workspace_thread(f->ws, thread).area;
    size_t in_img = (size_t)f->s.c_in * f->s.h_in * f->s.w_in, out_img = (size_t)f->s.h_out * f->s.w_out;
    pad_image_slices(area, f->inp + i * in_img, in_img, 1, f->p);
    for (int y = 0; y < f->s.h_out; y++)
        row_taps(f->out + i * out_img + (size_t)y * f->s.w_out, area + (size_t)y * f->p.wp, f->wf, f->off, f->nq,
                 f->s.w_out, f->bias);
}

void convd_transposed_forward(float *out, const float *inp, const float *w, const float *b, int batch, ConvShape s,
                              const Workspace *ws) {
    int k = s.k, kk = k * k, nq = s.c_in * kk;
    PaddedGeom p = padded_geom(s.c_in, s.h_in, s.w_in, k - 1 - s.pad, k, 1, s.h_out, s.w_out);
    float *wf = ws->tmp; // (c_in, k, k) flipped: the transposed convolution as a plain one
    for (int c = 0; c < s.c_in; c++)
        for (int t = 0; t < kk; t++) wf[c * kk + t] = w[c * kk + (kk - 1 - t)];
    tap_offsets(ws->idx, s.c_in, p.chp, p.wp, k);
    // An image too big for a helper's area is copied into the column buffer, on the leader alone.
    pool_run(workspace_pool_for(ws, padded_floats(p, 1)), batch, forward_image, &(DirectForward){ws, out, inp, wf, ws->idx, b[0], nq, s, p});
}

// dw[t] += sum over the plane of x[y][x] * d[off[t] + y*wp + x], for one input plane x (h, w) and
// the padded dout plane d. Columns below w & ~3 are summed in four lanes (lane l takes the columns
// l mod 4, row after row), added pairwise at the end, then the other columns one by one: the f32x4
// path (kernel 3: nine accumulators) and the plain loop, its twin, add the same floats in the
// same order.
// The columns past the last whole f32x4 (w4 .. w-1) of every row, one by one; 0 when there are none.
static float columns_tail(const float *x, const float *d, int h, int w, int wp, int w4) {
    float sum = 0.0f;
    for (int y = 0; y < h; y++)
        for (int c = w4; c < w; c++) sum += x[y * w + c] * d[y * wp + c];
    return sum;
}

static void plane_wgrad_plain(float *dw, const float *x, const float *d, const int *off, int kk, int h, int w, int wp) {
    int w4 = w & ~3;
    for (int t = 0; t < kk; t++) {
        float lane[4] = {0, 0, 0, 0};
        for (int y = 0; y < h; y++)
            for (int c = 0; c < w4; c++) lane[c & 3] += x[y * w + c] * d[off[t] + y * wp + c];
        dw[t] += (lane[0] + lane[1]) + (lane[2] + lane[3]);
        dw[t] += columns_tail(x, d + off[t], h, w, wp, w4);
    }
}

static void plane_wgrad(float *dw, const float *x, const float *d, const int *off, int kk, int h, int w, int wp) {
#ifdef __wasm_simd128__
    if (kk == 9) {
        int w4 = w & ~3;
        v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
        for (int y = 0; y < h; y++) {
            const float *xr = x + y * w, *dr = d + y * wp;
            for (int c = 0; c < w4; c += 4) {
                v128_t u = wasm_v128_load(xr + c);
                const float *dc = dr + c;
                a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(u, wasm_v128_load(dc + off[0])));
                a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(u, wasm_v128_load(dc + off[1])));
                a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(u, wasm_v128_load(dc + off[2])));
                a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(u, wasm_v128_load(dc + off[3])));
                a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(u, wasm_v128_load(dc + off[4])));
                a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(u, wasm_v128_load(dc + off[5])));
                a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(u, wasm_v128_load(dc + off[6])));
                a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(u, wasm_v128_load(dc + off[7])));
                a8 = wasm_f32x4_add(a8, wasm_f32x4_mul(u, wasm_v128_load(dc + off[8])));
            }
        }
        v128_t acc[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
        for (int t = 0; t < 9; t++) {
            float lane[4];
            wasm_v128_store(lane, acc[t]);
            dw[t] += (lane[0] + lane[1]) + (lane[2] + lane[3]);
            dw[t] += columns_tail(x, d + off[t], h, w, wp, w4);
        }
        return;
    }
#endif
    plane_wgrad_plain(dw, x, d, off, kk, h, w, wp);
}

typedef struct {
    float *dw;
    const float *inp, *col;
    const int *off;
    int nb;
    ConvShape s;
    PaddedGeom p;
} DirectWeightGrad;

// Input channel c's taps over every image of a chunk, in image order: a task. The channels' taps
// are disjoint, so each tap is summed in the same order whoever takes its channel.
static void weight_grad_channel(void *ctx, int c, int thread) {
    (void)thread;
    const DirectWeightGrad *g = ctx;
    int kk = g->s.k * g->s.k;
    size_t in_img = (size_t)g->s.c_in * g->s.h_in * g->s.w_in, plane = (size_t)g->s.h_in * g->s.w_in;
    for (int i = 0; i < g->nb; i++)
        plane_wgrad(g->dw + c * kk, g->inp + i * in_img + c * plane, g->col + (size_t)i * g->p.imgp, g->off, kk, g->s.h_in,
                    g->s.w_in, g->p.wp);
}

void convd_transposed_weight_grad(float *dw, const float *dout, const float *inp, int batch, ConvShape s,
                                  const Workspace *ws) {
    int k = s.k;
    PaddedGeom p = padded_geom(1, s.h_out, s.w_out, s.pad, k, 1, s.h_in, s.w_in);
    tap_offsets(ws->idx, 1, p.chp, p.wp, k);
    int nb_max = (int)((ws->col_floats - 16) / p.imgp);
    size_t in_img = (size_t)s.c_in * s.h_in * s.w_in, out_img = (size_t)s.h_out * s.w_out;
    for (int b0 = 0; b0 < batch; b0 += nb_max) {
        int nb = batch - b0 < nb_max ? batch - b0 : nb_max;
        pad_images(ws->pool, ws->col, dout + b0 * out_img, nb, p);
        pool_run(ws->pool, s.c_in, weight_grad_channel, &(DirectWeightGrad){dw, inp + b0 * in_img, ws->col, ws->idx, nb, s, p});
    }
}
