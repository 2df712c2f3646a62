// Blocked GEMM (BLIS-style loop order: N blocks, K blocks, M blocks, then 4x8 tiles) with a
// WASM SIMD128 micro-kernel and its plain-C twin side by side. Single-threaded by design:
// parallelism lives one level up, in data-parallel workers.
#include "gemm.h"

#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

enum {
    MR = 4,     // rows of a micro-tile: four splatted A values
    NR = 8,     // columns of a micro-tile: two f32x4 loads of B
    KC = 256,   // depth of a packed block: a 4x256 A panel + a 256x8 B panel stay in L1
    MC = 64,    // rows of a packed A block
    NC = 1024,  // columns of a packed B block (KC*NC floats = 1 MiB, held in L2)
};

size_t gemm_scratch_floats(void) { return (size_t)MC * KC + (size_t)KC * NC; }

void gemm_naive(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float sum = accumulate ? c[(size_t)i * ldc + j] : 0.0f;
            for (int p = 0; p < k; p++)
                sum += a.p[(size_t)i * a.rs + (size_t)p * a.cs] * b.p[(size_t)p * b.rs + (size_t)j * b.cs];
            c[(size_t)i * ldc + j] = sum;
        }
    }
}

// --- packing -------------------------------------------------------------------------------
// A block (mc,kc) -> panels of MR rows, each stored k-major: panel[p*MR + r]. Short panels are zero-padded.
static void pack_a(float *dst, MatView a, int i0, int p0, int mc, int kc) {
    for (int ir = 0; ir < mc; ir += MR) {
        int rows = mc - ir < MR ? mc - ir : MR;
        for (int p = 0; p < kc; p++) {
            const float *src = a.p + (size_t)(p0 + p) * a.cs + (size_t)(i0 + ir) * a.rs;
            for (int r = 0; r < rows; r++) dst[r] = src[(size_t)r * a.rs];
            for (int r = rows; r < MR; r++) dst[r] = 0.0f;
            dst += MR;
        }
    }
}

// Eight contiguous floats: two v128 moves (a call to memcpy per 32 bytes cost more than the copy).
static inline void copy8(float *dst, const float *src) {
#ifdef __wasm_simd128__
    wasm_v128_store(dst, wasm_v128_load(src));
    wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
#else
    for (int j = 0; j < NR; j++) dst[j] = src[j];
#endif
}

// B block (kc,nc) -> panels of NR columns, each stored k-major: panel[p*NR + j]. Short panels are zero-padded.
static void pack_b(float *dst, MatView b, int p0, int j0, int kc, int nc) {
    for (int jr = 0; jr < nc; jr += NR) {
        int cols = nc - jr < NR ? nc - jr : NR;
        for (int p = 0; p < kc; p++) {
            const float *src = b.p + (size_t)(p0 + p) * b.rs + (size_t)(j0 + jr) * b.cs;
            if (b.cs == 1 && cols == NR) {
                copy8(dst, src);
            } else {
                for (int j = 0; j < cols; j++) dst[j] = src[(size_t)j * b.cs];
                for (int j = cols; j < NR; j++) dst[j] = 0.0f;
            }
            dst += NR;
        }
    }
}

// --- micro-kernels ---------------------------------------------------------------------------
// tile (MR,NR) = sum over p of a[p*MR + r] * b[p*NR + j]; then stored into c (rows x cols valid),
// added to what is there when accumulate is set.
static void store_tile(float *c, int ldc, const float *tile, int rows, int cols, int accumulate) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            c[(size_t)r * ldc + j] = accumulate ? c[(size_t)r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];
}

__attribute__((unused)) static void kernel_plain(int kc, const float *a, const float *b, float *c, int ldc, int rows, int cols, int accumulate) {
    float acc[MR * NR] = {0};
    for (int p = 0; p < kc; p++, a += MR, b += NR)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r * NR + j] += a[r] * b[j];
    store_tile(c, ldc, acc, rows, cols, accumulate);
}

#ifdef __wasm_simd128__
// Eight accumulators + two B vectors + one splat in flight: fits V8's 15 vector registers without spills.
// Hand-unrolling the k loop made V8's code slower, so it stays a plain loop.
static void kernel_simd(int kc, const float *a, const float *b, float *c, int ldc, int rows, int cols, int accumulate) {
    v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
    v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int p = 0; p < kc; p++, a += MR, b += NR) {
        v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        v128_t a0 = wasm_v128_load32_splat(a + 0);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
        v128_t a1 = wasm_v128_load32_splat(a + 1);
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
        v128_t a2 = wasm_v128_load32_splat(a + 2);
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
        v128_t a3 = wasm_v128_load32_splat(a + 3);
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
    }
    if (rows == MR && cols == NR) {
        v128_t acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
        for (int r = 0; r < MR; r++) {
            float *row = c + (size_t)r * ldc;
            if (accumulate) {
                acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_v128_load(row));
                acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_v128_load(row + 4));
            }
            wasm_v128_store(row, acc[r][0]);
            wasm_v128_store(row + 4, acc[r][1]);
        }
        return;
    }
    float tile[MR * NR];
    wasm_v128_store(tile + 0, c00);  wasm_v128_store(tile + 4, c01);
    wasm_v128_store(tile + 8, c10);  wasm_v128_store(tile + 12, c11);
    wasm_v128_store(tile + 16, c20); wasm_v128_store(tile + 20, c21);
    wasm_v128_store(tile + 24, c30); wasm_v128_store(tile + 28, c31);
    store_tile(c, ldc, tile, rows, cols, accumulate);
}
#define KERNEL kernel_simd
#else
#define KERNEL kernel_plain
#endif

// --- driver ----------------------------------------------------------------------------------
void gemm(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    float *packed_a = scratch;                  // (MC,KC)
    float *packed_b = scratch + (size_t)MC * KC; // (KC,NC)
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            // Only the first K block writes; later ones add to it.
            int acc = accumulate || p0 > 0;
            pack_b(packed_b, b, p0, j0, kc, nc);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                pack_a(packed_a, a, i0, p0, mc, kc);
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    const float *bp = packed_b + (size_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        float *ct = c + (size_t)(i0 + ir) * ldc + j0 + jr;
                        KERNEL(kc, packed_a + (size_t)ir * kc, bp, ct, ldc, rows, cols, acc);
                    }
                }
            }
        }
    }
}
