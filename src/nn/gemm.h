// Matrix multiply C (M,N) = or += A (M,K) * B (K,N), the one kernel every heavy layer reduces to.
// Operands are described by strides or offset tables, so a transposed operand is swapped strides and
// an im2col matrix is two tables over a zero-padded image (never materialised).
// Not a BLAS: no alpha/beta, no threads, float only.
#ifndef LL_GEMM_H
#define LL_GEMM_H

#include <stddef.h>

// Element (i,j) is p[row(i) + col(j)], row(i) = row_off ? row_off[i] : i*rs, col(j) likewise with cs.
// Offset tables let one view describe an im2col matrix or a batch of NCHW images as a (C, B*H*W) matrix.
typedef struct {
    const float *p;
    int rs, cs;            // row stride, column stride (in floats), used where there is no table
    const int *row_off;    // optional: offset of each row
    const int *col_off;    // optional: offset of each column
    int packed;            // A only: p holds gemm_pack_a()'s panels for the whole K (strides unused)
} MatView;

// A plain strided view (no tables).
static inline MatView matview(const float *p, int rs, int cs) { return (MatView){p, rs, cs, NULL, NULL, 0}; }
// An A operand packed once by gemm_pack_a(), for a layer that multiplies the same weights many times.
static inline MatView matview_packed(const float *p) { return (MatView){p, 0, 0, NULL, NULL, 1}; }

// Floats gemm_pack_a() writes for an (m, k) operand: m rounded up to the micro-tile's 4 rows, times k.
size_t gemm_packed_a_floats(int m, int k);
// a (m, k) -> dst in the micro-kernel's layout (panels of 4 rows, each k-major, the last zero-padded).
void gemm_pack_a(float *dst, MatView a, int m, int k);

// Scratch the blocked GEMM packs its operands into; gemm_scratch_floats() floats, 16-byte aligned.
size_t gemm_scratch_floats(void);

// The fast path: panels of A and B are packed (or read in place where their rows are contiguous
// and the other operand is skinny), then a 4x8 register-blocked micro-kernel (WASM SIMD128 when
// compiled with -msimd128, the plain-C twin otherwise) computes each tile.
void gemm(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch);
// The same with C's columns at c_col_off[j] (element (i,j) at c[i*ldc + c_col_off[j]]): writes
// straight into NCHW images or the interleaved pixels of one transposed-convolution phase.
void gemm_ex(float *c, int ldc, const int *c_col_off, MatView a, MatView b, int m, int n, int k, int accumulate,
             float *scratch);

// The reference: three loops, no packing. Used by the tests and for odd shapes nothing else handles.
void gemm_naive(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate);

#endif
