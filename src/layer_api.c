// Exported single layers and the GEMM, on buffers the caller owns: what the tests check against
// finite differences and the scalar twins, and what the benchmark times one pass at a time.
// Arguments are checked here; the layers themselves trust their callers.
#include <stdlib.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#include "api.h"
#include "nn/conv2d.h"
#include "nn/conv_transpose2d.h"
#include "nn/gemm.h"
#include "nn/linear.h"
#include "status.h"


EXPORT Workspace *ll_workspace_create(void) {
    Workspace *ws = calloc(1, sizeof(Workspace));
    if (!ws) return NULL;
    // 16-byte aligned, a multiple of 16 bytes.
    float *memory = aligned_alloc(16, (workspace_floats() * sizeof(float) + 15) & ~(size_t)15);
    if (!memory) {
        free(ws);
        return NULL;
    }
    workspace_carve(ws, memory);
    return ws;
}

// on = 1: every layer on this workspace takes its plain reference path (im2col + GEMM + col2im).
EXPORT void ll_workspace_set_reference(Workspace *ws, int on) {
    if (ws) ws->reference = on != 0;
}

EXPORT void ll_workspace_free(Workspace *ws) {
    if (!ws) return;
    free(ws->col);
    free(ws);
}

// Fills in the output size and checks that one image of this layer fits the workspace.
static int conv_shape(ConvShape *s, const Workspace *ws, int transposed, int batch, int c_in, int c_out, int h_in,
                      int w_in, int k, int stride, int pad) {
    if (!ws) return ll_fail(LL_EINVAL, "no workspace");
    if (batch < 1 || c_in < 1 || c_out < 1 || h_in < 1 || w_in < 1 || k < 1 || stride < 1 || pad < 0 || pad >= k)
        return ll_fail(LL_EINVAL, "convolution: sizes must be positive and pad < k");
    int h_out = transposed ? (h_in - 1) * stride - 2 * pad + k : (h_in + 2 * pad - k) / stride + 1;
    int w_out = transposed ? (w_in - 1) * stride - 2 * pad + k : (w_in + 2 * pad - k) / stride + 1;
    if (h_out < 1 || w_out < 1) return ll_fail(LL_EINVAL, "convolution: empty output");
    *s = (ConvShape){c_in, c_out, h_in, w_in, h_out, w_out, k, stride, pad};
    size_t col = transposed ? (size_t)c_out * k * k * h_in * w_in : (size_t)c_in * k * k * h_out * w_out;
    size_t tmp = transposed ? (size_t)c_in * h_in * w_in : (size_t)c_out * h_out * w_out;
    if (col > ws->col_floats || tmp > ws->tmp_floats) return ll_fail(LL_EINVAL, "convolution: one image exceeds the workspace");
    return LL_OK;
}

EXPORT int ll_conv2d_forward(Workspace *ws, float *out, const float *inp, const float *w, const float *b, int batch,
                             int c_in, int c_out, int h_in, int w_in, int k, int stride, int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 0, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK) conv2d_forward(out, inp, w, b, batch, s, ws);
    return status;
}

EXPORT int ll_conv2d_backward(Workspace *ws, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                              const float *w, int batch, int c_in, int c_out, int h_in, int w_in, int k, int stride,
                              int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 0, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK) conv2d_backward(dinp, dw, db, dout, inp, w, batch, s, ws);
    return status;
}

EXPORT int ll_conv_transpose2d_forward(Workspace *ws, float *out, const float *inp, const float *w, const float *b,
                                       int batch, int c_in, int c_out, int h_in, int w_in, int k, int stride, int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 1, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK) conv_transpose2d_forward(out, inp, w, b, batch, s, ws);
    return status;
}

EXPORT int ll_conv_transpose2d_backward(Workspace *ws, float *dinp, float *dw, float *db, const float *dout,
                                        const float *inp, const float *w, int batch, int c_in, int c_out, int h_in,
                                        int w_in, int k, int stride, int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 1, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK) conv_transpose2d_backward(dinp, dw, db, dout, inp, w, batch, s, ws);
    return status;
}

EXPORT int ll_linear_forward(Workspace *ws, float *out, const float *inp, const float *w, const float *b, int batch,
                             int n_in, int n_out) {
    if (!ws || batch < 1 || n_in < 1 || n_out < 1) return ll_fail(LL_EINVAL, "linear: sizes must be positive");
    linear_forward(out, inp, w, b, batch, n_in, n_out, ws);
    return LL_OK;
}

EXPORT int ll_linear_backward(Workspace *ws, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                              const float *w, int batch, int n_in, int n_out) {
    if (!ws || batch < 1 || n_in < 1 || n_out < 1) return ll_fail(LL_EINVAL, "linear: sizes must be positive");
    linear_backward(dinp, dw, db, dout, inp, w, batch, n_in, n_out, ws);
    return LL_OK;
}

// The input-gradient pass alone (dinp += ...; no weight or bias gradient), so the benchmark times
// each backward pass by itself instead of as a difference of two noisy timings.
EXPORT int ll_conv2d_backward_input(Workspace *ws, float *dinp, const float *dout, const float *w, int batch, int c_in,
                                    int c_out, int h_in, int w_in, int k, int stride, int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 0, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK && !dinp) status = ll_fail(LL_EINVAL, "conv2d: no input-gradient buffer");
    if (status == LL_OK) conv2d_backward(dinp, NULL, NULL, dout, NULL, w, batch, s, ws);
    return status;
}

EXPORT int ll_conv_transpose2d_backward_input(Workspace *ws, float *dinp, const float *dout, const float *w, int batch,
                                              int c_in, int c_out, int h_in, int w_in, int k, int stride, int pad) {
    ConvShape s;
    int status = conv_shape(&s, ws, 1, batch, c_in, c_out, h_in, w_in, k, stride, pad);
    if (status == LL_OK && !dinp) status = ll_fail(LL_EINVAL, "conv_transpose2d: no input-gradient buffer");
    if (status == LL_OK) conv_transpose2d_backward(dinp, NULL, NULL, dout, NULL, w, batch, s, ws);
    return status;
}

EXPORT int ll_linear_backward_input(Workspace *ws, float *dinp, const float *dout, const float *w, int batch, int n_in,
                                    int n_out) {
    if (!ws || !dinp || batch < 1 || n_in < 1 || n_out < 1) return ll_fail(LL_EINVAL, "linear: sizes must be positive");
    linear_backward(dinp, NULL, NULL, dout, NULL, w, batch, n_in, n_out, ws);
    return LL_OK;
}

// c (m, n) = a * b with a (m, k) and b (k, n) row-major, either transposed when its flag is set
// (then stored (k, m) or (n, k)). naive = 1 runs the reference loops instead of the blocked kernel.
EXPORT int ll_gemm(Workspace *ws, float *c, const float *a, const float *b, int m, int n, int k, int trans_a,
                   int trans_b, int accumulate, int naive) {
    if (!ws || m < 1 || n < 1 || k < 1) return ll_fail(LL_EINVAL, "gemm: sizes must be positive");
    MatView va = trans_a ? matview(a, 1, m) : matview(a, k, 1);
    MatView vb = trans_b ? matview(b, 1, k) : matview(b, n, 1);
    if (naive) gemm_naive(c, n, va, vb, m, n, k, accumulate);
    else gemm(c, n, va, vb, m, n, k, accumulate, ws->gemm);
    return LL_OK;
}

// --- the in-run ceiling ------------------------------------------------------------------------
// f32x4 mul+add over six independent accumulator chains: the speed our GEMM's inner loop can at
// best reach on this engine. Six chains, not eight: with eight V8 spills them (15 vector registers
// on x86-64) and the figure reads low. x (n floats, n a multiple of 4) stays in L1; each pass reads
// it once and does 48 flops per vector read. Returns a checksum so the loop is not optimised away.
// The scalar build has no f32x4 and returns 0: the benchmark samples the ceiling from the SIMD build.
EXPORT float ll_peak_probe(const float *x, int n, int passes) {
#ifdef __wasm_simd128__
    v128_t w0 = wasm_f32x4_splat(0.5f), w1 = wasm_f32x4_splat(0.25f), w2 = wasm_f32x4_splat(0.125f);
    v128_t w3 = wasm_f32x4_splat(-0.5f), w4 = wasm_f32x4_splat(-0.25f), w5 = wasm_f32x4_splat(-0.125f);
    v128_t c0 = wasm_f32x4_splat(0.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (int r = 0; r < passes; r++)
        for (int i = 0; i < n; i += 4) {
            v128_t v = wasm_v128_load(x + i);
            c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(v, w0));
            c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(v, w1));
            c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(v, w2));
            c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(v, w3));
            c4 = wasm_f32x4_add(c4, wasm_f32x4_mul(v, w4));
            c5 = wasm_f32x4_add(c5, wasm_f32x4_mul(v, w5));
        }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(c0, c1), wasm_f32x4_add(c2, c3)), wasm_f32x4_add(c4, c5));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) +
           wasm_f32x4_extract_lane(s, 3);
#else
    (void)x; (void)n; (void)passes;
    return 0.0f;
#endif
}

// Debug only: executes a trap (WebAssembly `unreachable`), as a bug in the C would. The page's test
// sends its worker a debug message that calls this, to check that a worker whose wasm traps is reported
// and restarted with the last good model. Nothing else calls it.
EXPORT void ll_debug_trap(void) { __builtin_trap(); }
