// Linear layer: GEMMs with strided (transposed) views, oriented so the weight matrix is always read
// in place, never copied: at batch 32 each weight is used by only 32 multiply-adds per pass, so a
// packing copy of the 3.2 MB matrix would cost as much as the arithmetic. Batch 1-2 (decoding one
// point for the page) takes dot products instead, with no 4x8 tiles to leave mostly empty.
#include "linear.h"
#include "gemm.h"
#include "im2col.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

// out[o] += sum_i w[o*n_in + i] * x[i] for o in [0, n_out): four lanes of partial sums per row,
// added up at the end. The plain loop is the twin (same four partial sums, same order) and finishes
// the rows and columns the vector loop leaves.
static void gemv_plain(float *out, const float *w, const float *x, int n_in, int o0, int n_out, int i0) {
    for (int o = o0; o < n_out; o++) {
        const float *row = w + (size_t)o * n_in;
        float lane[4] = {0, 0, 0, 0};
        int i = 0;
        for (; i + 4 <= i0; i += 4)
            for (int l = 0; l < 4; l++) lane[l] += row[i + l] * x[i + l];
        float sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
        for (; i < n_in; i++) sum += row[i] * x[i];
        out[o] += sum;
    }
}

static void gemv(float *out, const float *w, const float *x, int n_in, int n_out) {
    int i4 = n_in & ~3;
#ifdef __wasm_simd128__
    // Rows in fours: four independent accumulator chains, x loaded once per four rows.
    int o = 0;
    for (; o + 4 <= n_out; o += 4) {
        const float *r0 = w + (size_t)o * n_in, *r1 = r0 + n_in, *r2 = r1 + n_in, *r3 = r2 + n_in;
        v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < i4; i += 4) {
            v128_t xv = wasm_v128_load(x + i);
            s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(r0 + i), xv));
            s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(r1 + i), xv));
            s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(r2 + i), xv));
            s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(r3 + i), xv));
        }
        v128_t sums[4] = {s0, s1, s2, s3};
        for (int r = 0; r < 4; r++) {
            float lane[4];
            wasm_v128_store(lane, sums[r]);
            float sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
            const float *row = w + (size_t)(o + r) * n_in;
            for (int i = i4; i < n_in; i++) sum += row[i] * x[i];
            out[o + r] += sum;
        }
    }
    gemv_plain(out, w, x, n_in, o, n_out, i4);
#else
    gemv_plain(out, w, x, n_in, 0, n_out, i4);
#endif
}

void linear_forward(float *out, const float *inp, const float *w, const float *b, int batch, int n_in, int n_out,
                    const Workspace *ws) {
    for (int i = 0; i < batch; i++)
        for (int o = 0; o < n_out; o++) out[(size_t)i * n_out + o] = b[o];
    if (batch <= 2) {
        for (int i = 0; i < batch; i++) gemv(out + (size_t)i * n_out, w, inp + (size_t)i * n_in, n_in, n_out);
        return;
    }
    // out^T (out, B) += w (out, in) * inp^T (in, B): w is the A operand, read in place; the columns
    // of C are images, n_out floats apart, in chunks of up to 64 images for the offset table.
    int col_off[64];
    for (int i0 = 0; i0 < batch; i0 += 64) {
        int nb = batch - i0 < 64 ? batch - i0 : 64;
        for (int j = 0; j < nb; j++) col_off[j] = j * n_out;
        gemm_ex_par(ws->pool, out + (size_t)i0 * n_out, 1, col_off, matview(w, n_in, 1), matview(inp + (size_t)i0 * n_in, 1, n_in),
                n_out, nb, n_in, 1, ws->gemm);
    }
}

void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int batch, int n_in, int n_out, const Workspace *ws) {
    if (db)
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < n_out; o++) db[o] += dout[(size_t)i * n_out + o];
    // dw (out, in) += dout^T (out, B) * inp (B, in)
    if (dw) gemm_par(ws->pool, dw, n_in, matview(dout, 1, n_out), matview(inp, n_in, 1), n_out, n_in, batch, 1, ws->gemm);
    // dinp (B, in) += dout (B, out) * w (out, in): both read in place (batch <= 64 rows).
    if (dinp) gemm_par(ws->pool, dinp, n_in, matview(dout, n_out, 1), matview(w, n_in, 1), batch, n_in, n_out, 1, ws->gemm);
}
