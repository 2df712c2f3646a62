// Matrix multiply C (M,N) = or += A (M,K) * B (K,N), the one kernel every heavy layer reduces to.
// Operands are described by row and column strides, so a transposed operand is just swapped strides:
// element (i,p) of A is a[i*a_rs + p*a_cs]. Not a BLAS: no alpha/beta, no threads, float only.
#ifndef LL_GEMM_H
#define LL_GEMM_H

#include <stddef.h>

typedef struct {
    const float *p;
    int rs, cs;   // row stride, column stride (in floats)
} MatView;

// Scratch the blocked GEMM packs its operands into; gemm_scratch_floats() floats, 16-byte aligned.
size_t gemm_scratch_floats(void);

// The fast path: panels of A and B are packed, then a 4x8 register-blocked micro-kernel
// (WASM SIMD128 when compiled with -msimd128, the plain-C twin otherwise) computes each tile.
void gemm(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch);

// The reference: three loops, no packing. Used by the tests and for odd shapes nothing else handles.
void gemm_naive(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate);

#endif
