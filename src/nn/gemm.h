// Matrix multiply C (M,N) = or += A (M,K) * B (K,N), the one kernel every heavy layer reduces to.
// Operands are described by strides or offset tables, so a transposed operand is swapped strides and
// an im2col matrix is two tables over a zero-padded image (never materialised).
// Not a BLAS: no alpha/beta, float only. The _par forms cut C into tiles a pool's threads take.
#ifndef LL_GEMM_H
#define LL_GEMM_H

#include <stddef.h>

#include "pool.h"

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
// straight into NCHW images.
void gemm_ex(float *c, int ldc, const int *c_col_off, MatView a, MatView b, int m, int n, int k, int accumulate,
             float *scratch);

// gemm and gemm_ex with C cut into row or column tiles that the pool's threads take, each tile a
// gemm_ex of its own with the calling thread's scratch. A tile runs its whole k loop like the uncut
// product, so C gets the same bits whatever the cut and whichever thread takes a tile. scratch is the
// leader's; a NULL pool (or a small product) is the plain call.
void gemm_par(Pool *pool, float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch);
void gemm_ex_par(Pool *pool, float *c, int ldc, const int *c_col_off, MatView a, MatView b, int m, int n, int k,
                 int accumulate, float *scratch);

// The reference: three loops, no packing. Used by the tests and for odd shapes nothing else handles.
void gemm_naive(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate);

#endif
