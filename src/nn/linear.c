// Linear layer: three GEMMs with strided (transposed) views, no copies of its own.
#include "linear.h"
#include "gemm.h"

void linear_forward(float *out, const float *inp, const float *w, const float *b, int batch, int n_in, int n_out,
                    float *gemm_scratch) {
    for (int i = 0; i < batch; i++)
        for (int o = 0; o < n_out; o++) out[(size_t)i * n_out + o] = b[o];
    // out (B, out) += inp (B, in) * w^T (in, out)
    gemm(out, n_out, (MatView){inp, n_in, 1}, (MatView){w, 1, n_in}, batch, n_out, n_in, 1, gemm_scratch);
}

void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int batch, int n_in, int n_out, float *gemm_scratch) {
    for (int i = 0; i < batch; i++)
        for (int o = 0; o < n_out; o++) db[o] += dout[(size_t)i * n_out + o];
    // dw (out, in) += dout^T (out, B) * inp (B, in)
    gemm(dw, n_in, (MatView){dout, 1, n_out}, (MatView){inp, n_in, 1}, n_out, n_in, batch, 1, gemm_scratch);
    // dinp (B, in) += dout (B, out) * w (out, in)
    if (dinp) gemm(dinp, n_in, (MatView){dout, n_out, 1}, (MatView){w, n_in, 1}, batch, n_in, n_out, 1, gemm_scratch);
}
