// Blocked GEMM (BLIS-style loop order: N blocks, K blocks, M blocks, then 4x8 tiles) with a
// WASM SIMD128 micro-kernel and its plain-C twin side by side. Single-threaded by design:
// parallelism lives one level up, in data-parallel workers.
#include "gemm.h"

#include <stddef.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

enum {
    MR = 4,     // rows of a micro-tile: four splatted A values
    NR = 8,     // columns of a micro-tile: two f32x4 loads of B
    KC = 256,   // depth of a packed block: a 4x256 A panel + a 256x8 B panel stay in L1
    MC = 64,    // rows of a packed A block
    NC = 512,   // columns of a packed B block: KC*NC floats = 512 KiB, the L2 of this machine's cores
                // (1024 measured up to 20% slower on the transposed convolutions)
    KS = 64,    // K blocks at most this deep stream C row by row (see gemm_ex)
};

// + NR floats of slack after the packed B block: the vector packing may write past its last row.
size_t gemm_scratch_floats(void) { return (size_t)MC * KC + (size_t)KC * NC + 2 * NR; }

static inline ptrdiff_t row_of(MatView v, int i) { return v.row_off ? v.row_off[i] : (ptrdiff_t)i * v.rs; }
static inline ptrdiff_t col_of(MatView v, int j) { return v.col_off ? v.col_off[j] : (ptrdiff_t)j * v.cs; }

void gemm_naive(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float sum = accumulate ? c[(size_t)i * ldc + j] : 0.0f;
            for (int p = 0; p < k; p++) sum += a.p[row_of(a, i) + col_of(a, p)] * b.p[row_of(b, p) + col_of(b, j)];
            c[(size_t)i * ldc + j] = sum;
        }
    }
}

// --- packing -------------------------------------------------------------------------------
#ifdef __wasm_simd128__
// Rows x0..x3 (four floats of four rows) stored as four columns, `stride` floats apart:
// dst[q*stride + r] = x_r[q].
static inline void store_transposed4(float *dst, int stride, v128_t x0, v128_t x1, v128_t x2, v128_t x3) {
    v128_t t0 = wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5);
    v128_t t2 = wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7);
    wasm_v128_store(dst, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
    wasm_v128_store(dst + stride, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
    wasm_v128_store(dst + 2 * stride, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
    wasm_v128_store(dst + 3 * stride, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
}
#endif

// A block (mc,kc) -> panels of MR rows, each stored k-major: panel[p*MR + r]. Short panels are zero-padded.
// Full panels keep their four row offsets in locals (an array would be reloaded after every store).
// The vector build copies whole vectors where the layout allows: four consecutive rows (a
// transposed operand: dout^T) one vector per column; four contiguous rows (weights), or columns
// through a table that are four consecutive floats (dy's pixels), 4x4 transposes. The scalar loop
// is the twin and takes the rest.
static void pack_a(float *dst, MatView a, int i0, int p0, int mc, int kc) {
    int ir = 0;
    for (; ir + MR <= mc; ir += MR) {
        ptrdiff_t r0 = row_of(a, i0 + ir), r1 = row_of(a, i0 + ir + 1);
        ptrdiff_t r2 = row_of(a, i0 + ir + 2), r3 = row_of(a, i0 + ir + 3);
        int p = 0;
#ifdef __wasm_simd128__
        if (!a.row_off && !a.col_off && a.rs == 1) {
            const float *s0 = a.p + r0 + (ptrdiff_t)p0 * a.cs;
            for (; p < kc; p++, dst += MR) wasm_v128_store(dst, wasm_v128_load(s0 + (ptrdiff_t)p * a.cs));
        } else if (!a.col_off && a.cs == 1) {
            const float *s0 = a.p + r0 + p0, *s1 = a.p + r1 + p0, *s2 = a.p + r2 + p0, *s3 = a.p + r3 + p0;
            for (; p + 4 <= kc; p += 4, dst += 4 * MR)
                store_transposed4(dst, MR, wasm_v128_load(s0 + p), wasm_v128_load(s1 + p), wasm_v128_load(s2 + p),
                                  wasm_v128_load(s3 + p));
        } else if (a.col_off) {
            const int *t = a.col_off + p0;
            for (; p + 4 <= kc; p += 4, dst += 4 * MR) {
                ptrdiff_t co = t[p];
                if (t[p + 1] == co + 1 && t[p + 2] == co + 2 && t[p + 3] == co + 3) {
                    store_transposed4(dst, MR, wasm_v128_load(a.p + r0 + co), wasm_v128_load(a.p + r1 + co),
                                      wasm_v128_load(a.p + r2 + co), wasm_v128_load(a.p + r3 + co));
                    continue;
                }
                for (int q = 0; q < 4; q++) { // four columns across an image boundary
                    ptrdiff_t cq = t[p + q];
                    dst[q * MR] = a.p[r0 + cq];
                    dst[q * MR + 1] = a.p[r1 + cq];
                    dst[q * MR + 2] = a.p[r2 + cq];
                    dst[q * MR + 3] = a.p[r3 + cq];
                }
            }
        }
#endif
        for (; p < kc; p++, dst += MR) {
            ptrdiff_t co = col_of(a, p0 + p);
            dst[0] = a.p[r0 + co];
            dst[1] = a.p[r1 + co];
            dst[2] = a.p[r2 + co];
            dst[3] = a.p[r3 + co];
        }
    }
    if (ir < mc) {
        int rows = mc - ir;
        ptrdiff_t ro[MR];
        for (int r = 0; r < rows; r++) ro[r] = row_of(a, i0 + ir + r);
        for (int p = 0; p < kc; p++, dst += MR) {
            ptrdiff_t co = col_of(a, p0 + p);
            for (int r = 0; r < rows; r++) dst[r] = a.p[ro[r] + co];
            for (int r = rows; r < MR; r++) dst[r] = 0.0f;
        }
    }
}

size_t gemm_packed_a_floats(int m, int k) { return (size_t)((m + MR - 1) / MR * MR) * (size_t)k; }

// One panel is p*MR + r, panel after panel: the same layout pack_a() gives a (mc, kc) block, so a
// K block of panel ir starts at dst + ir*k + p0*MR and the kernel steps MR floats per k as usual.
void gemm_pack_a(float *dst, MatView a, int m, int k) { pack_a(dst, a, 0, 0, m, k); }

// A panel's NR column offsets as at most two runs of stride 1 or 2 (8 output pixels of one image
// row, or the end of one row and the start of the next): co[t] = co[0] + s*t for t < split and
// co[split] + s*(t - split) after. Returns the stride s, or 0 when the columns are scattered.
static int two_runs(const ptrdiff_t *co, int cols, int *split) {
    if (cols != NR) return 0;
    for (int s = 1; s <= 2; s++) {
        int a = 1;
        while (a < NR && co[a] == co[a - 1] + s) a++;
        int ok = 1;
        for (int t = a + 1; t < NR; t++) ok &= co[t] == co[t - 1] + s;
        if (ok) {
            *split = a;
            return s;
        }
    }
    return 0;
}

#ifdef __wasm_simd128__
// Eight floats src[0], src[s], ..., src[7s] (s = 1 or 2) to dst, unaligned. Stride 2 reads src[15].
static inline void copy8_strided(float *dst, const float *src, int s) {
    if (s == 1) {
        wasm_v128_store(dst, wasm_v128_load(src));
        wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
    } else {
        wasm_v128_store(dst, wasm_i32x4_shuffle(wasm_v128_load(src), wasm_v128_load(src + 4), 0, 2, 4, 6));
        wasm_v128_store(dst + 4, wasm_i32x4_shuffle(wasm_v128_load(src + 8), wasm_v128_load(src + 12), 0, 2, 4, 6));
    }
}
#endif

// One panel of B: rows p0..p0+kc-1, columns j..j+cols-1 -> dst[p*NR + t], zero-padded to NR columns.
// The vector path copies each run as a whole vector, the second one over the tail of the first: it
// writes up to 7 floats past the row (the next row overwrites them; gemm_scratch_floats() leaves
// slack after the last) and reads up to 15 floats past a run (callers leave slack after images).
// Scattered full panels (a 3x3 window's taps) gather with their eight offsets held in locals.
static void pack_b_panel(float *dst, MatView b, int p0, int j, int kc, int cols) {
    ptrdiff_t co[NR];
    for (int t = 0; t < cols; t++) co[t] = col_of(b, j + t);
    int split = NR, stride = two_runs(co, cols, &split);
#ifdef __wasm_simd128__
    if (!b.row_off && b.rs == 1 && cols == NR) { // a transposed operand: each column's rows are consecutive
        const float *s0 = b.p + p0 + co[0], *s1 = b.p + p0 + co[1], *s2 = b.p + p0 + co[2], *s3 = b.p + p0 + co[3];
        const float *s4 = b.p + p0 + co[4], *s5 = b.p + p0 + co[5], *s6 = b.p + p0 + co[6], *s7 = b.p + p0 + co[7];
        int p = 0;
        for (; p + 4 <= kc; p += 4, dst += 4 * NR) {
            store_transposed4(dst, NR, wasm_v128_load(s0 + p), wasm_v128_load(s1 + p), wasm_v128_load(s2 + p),
                              wasm_v128_load(s3 + p));
            store_transposed4(dst + 4, NR, wasm_v128_load(s4 + p), wasm_v128_load(s5 + p), wasm_v128_load(s6 + p),
                              wasm_v128_load(s7 + p));
        }
        for (; p < kc; p++, dst += NR) {
            dst[0] = s0[p]; dst[1] = s1[p]; dst[2] = s2[p]; dst[3] = s3[p];
            dst[4] = s4[p]; dst[5] = s5[p]; dst[6] = s6[p]; dst[7] = s7[p];
        }
        return;
    }
    if (stride) {
        for (int p = 0; p < kc; p++, dst += NR) {
            const float *src = b.p + row_of(b, p0 + p);
            copy8_strided(dst, src + co[0], stride);
            if (split < NR) copy8_strided(dst + split, src + co[split], stride);
        }
        return;
    }
#endif
    (void)stride; // the plain twin gathers every layout
    if (cols == NR) {
        ptrdiff_t c0 = co[0], c1 = co[1], c2 = co[2], c3 = co[3], c4 = co[4], c5 = co[5], c6 = co[6], c7 = co[7];
        for (int p = 0; p < kc; p++, dst += NR) {
            const float *src = b.p + row_of(b, p0 + p);
            dst[0] = src[c0]; dst[1] = src[c1]; dst[2] = src[c2]; dst[3] = src[c3];
            dst[4] = src[c4]; dst[5] = src[c5]; dst[6] = src[c6]; dst[7] = src[c7];
        }
        return;
    }
    for (int p = 0; p < kc; p++, dst += NR) {
        const float *src = b.p + row_of(b, p0 + p);
        for (int t = 0; t < cols; t++) dst[t] = src[co[t]];
        for (int t = cols; t < NR; t++) dst[t] = 0.0f;
    }
}

static void pack_b(float *dst, MatView b, int p0, int j0, int kc, int nc) {
    for (int jr = 0; jr < nc; jr += NR, dst += (size_t)NR * kc)
        pack_b_panel(dst, b, p0, j0 + jr, kc, nc - jr < NR ? nc - jr : NR);
}

// --- micro-kernels ---------------------------------------------------------------------------
// tile (MR,NR) = sum over p of A(r,p) * B(p,j), A(r,p) = a[r*a_rs + p*a_cs] (packed: 1, MR; read in
// place: lda, 1), B(p,j) = b[p*ldb + j]. Then stored into C (rows x cols valid), column j at
// ccol[j] when ccol is set, added to what is there when accumulate is set.
static void store_tile(float *c, int ldc, const int *ccol, const float *tile, int rows, int cols, int accumulate) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float *d = c + (size_t)r * ldc + (ccol ? ccol[j] : j);
            *d = accumulate ? *d + tile[r * NR + j] : tile[r * NR + j];
        }
}

__attribute__((unused)) static inline __attribute__((always_inline)) void kernel_plain_body(int kc, const float *a, const int a_rs,
        const int a_cs, const float *b, int ldb, float *c, int ldc, const int *ccol, int rows, int cols, int accumulate) {
    float acc[MR * NR] = {0};
    for (int p = 0; p < kc; p++, a += a_cs, b += ldb)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r * NR + j] += a[r * a_rs] * b[j];
    store_tile(c, ldc, ccol, acc, rows, cols, accumulate);
}

#ifdef __wasm_simd128__
// Eight accumulators + two B vectors + one splat in flight: fits V8's 15 vector registers without spills.
// Hand-unrolling the k loop made V8's code slower, so it stays a plain loop. Inlined with constant
// strides for the packed case, so the four A loads use static offsets.
static inline __attribute__((always_inline)) void kernel_simd_body(int kc, const float *a, const int a_rs,
        const int a_cs, const float *b, int ldb, float *c, int ldc, const int *ccol, int rows, int cols, int accumulate) {
    v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
    v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int p = 0; p < kc; p++, a += a_cs, b += ldb) {
        v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        v128_t a0 = wasm_v128_load32_splat(a);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
        v128_t a1 = wasm_v128_load32_splat(a + a_rs);
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
        v128_t a2 = wasm_v128_load32_splat(a + 2 * a_rs);
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
        v128_t a3 = wasm_v128_load32_splat(a + 3 * a_rs);
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
    }
    if (rows == MR && cols == NR && !ccol) {
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
    store_tile(c, ldc, ccol, tile, rows, cols, accumulate);
}
#define KERNEL_BODY kernel_simd_body
#else
#define KERNEL_BODY kernel_plain_body
#endif

// The two kernel instances: A packed (constant strides, so V8 sees static load offsets for it) or
// read in place. B's row stride stays a parameter: specialising it too measured slower in V8.
static void kernel_packed(int kc, const float *a, const float *b, int ldb, float *c, int ldc, const int *ccol,
                          int rows, int cols, int accumulate) {
    KERNEL_BODY(kc, a, 1, MR, b, ldb, c, ldc, ccol, rows, cols, accumulate);
}

static void kernel_direct(int kc, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                          const int *ccol, int rows, int cols, int accumulate) {
    KERNEL_BODY(kc, a, lda, 1, b, ldb, c, ldc, ccol, rows, cols, accumulate);
}

// --- driver ----------------------------------------------------------------------------------
void gemm_ex(float *c, int ldc, const int *ccol, MatView a, MatView b, int m, int n, int k, int accumulate,
             float *scratch) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[(size_t)i * ldc + (ccol ? ccol[j] : j)] = 0.0f;
        return;
    }
    float *packed_a = scratch;                   // (MC,KC)
    float *packed_b = scratch + (size_t)MC * KC; // (KC,NC)
    // A's rows are read in place when each is contiguous and C is narrow (a linear layer's weights
    // at batch 32): a 3.2 MB weight matrix is not copied per call for 32 uses of each weight. When
    // many column panels reuse A, packing it is faster (measured 15% on the convolutions' shapes).
    int a_direct = !a.packed && !a.row_off && !a.col_off && a.cs == 1 && n <= 64;
    // B's rows likewise, when A is skinny: each B panel then serves at most 8 tiles, too few to pay
    // for copying it (the linear layers' input gradient at batch 32). Not for row strides that are
    // multiples of 4 KiB: every row of a panel would map to the same L1 set (measured 30% slower).
    int b_direct = !b.row_off && !b.col_off && b.cs == 1 && m <= 32 && b.rs % 1024 != 0;
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            // Only the first K block writes; later ones add to it.
            int acc = accumulate || p0 > 0;
            if (!b_direct) pack_b(packed_b, b, p0, j0, kc, nc);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                // A's block: packed now, packed by the caller (panel ir at ir*k + p0*MR), or read in place.
                // Floats from one row's panel to the next row's: ir * a_pstride is ir/MR panels on.
                const float *pa = packed_a;
                int a_pstride = a.packed ? k : kc;
                if (a.packed) pa = a.p + (size_t)i0 * k + (size_t)p0 * MR;
                else if (!a_direct) pack_a(packed_a, a, i0, p0, mc, kc);
                // A shallow K block (a linear layer's weight gradient: K = batch) makes C the big
                // operand: each 4-row panel then sweeps all its columns, so C is read and written as
                // four sequential streams instead of 4-row hops across a matrix larger than L2
                // (measured 25% faster on the 3136x256 weight gradients). The packed B block is
                // small enough (KS x NC) to stay in L2 for every row panel.
                if (kc <= KS && !a_direct && !b_direct && !ccol) {
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        for (int jr = 0; jr < nc; jr += NR) {
                            int cols = nc - jr < NR ? nc - jr : NR;
                            kernel_packed(kc, pa + (size_t)ir * a_pstride, packed_b + (size_t)jr * kc, NR,
                                          c + j0 + jr + (size_t)(i0 + ir) * ldc, ldc, NULL, rows, cols, acc);
                        }
                    }
                    continue;
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    const float *bp = packed_b + (size_t)jr * kc;
                    int ldb = NR;
                    if (b_direct && cols == NR) {
                        bp = b.p + (size_t)p0 * b.rs + j0 + jr;
                        ldb = b.rs;
                    } else if (b_direct) {
                        pack_b_panel(packed_b, b, p0, j0 + jr, kc, cols);
                        bp = packed_b;
                    }
                    // Columns of C: plain, or through the table (a contiguous run is plain again).
                    float *cj = c + j0 + jr;
                    const int *cc = NULL;
                    if (ccol) {
                        const int *t = ccol + j0 + jr;
                        int run = cols == NR;
                        for (int q = 1; q < cols && run; q++) run = t[q] == t[0] + q;
                        if (run) cj = c + t[0];
                        else { cj = c; cc = t; }
                    }
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        float *ct = cj + (size_t)(i0 + ir) * ldc;
                        if (!a_direct) {
                            kernel_packed(kc, pa + (size_t)ir * a_pstride, bp, ldb, ct, ldc, cc, rows, cols, acc);
                        } else if (rows == MR) {
                            const float *ap = a.p + (size_t)(i0 + ir) * a.rs + p0;
                            kernel_direct(kc, ap, a.rs, bp, ldb, ct, ldc, cc, rows, cols, acc);
                        } else {
                            pack_a(packed_a, a, i0 + ir, p0, rows, kc); // the last, short row panel
                            kernel_packed(kc, packed_a, bp, ldb, ct, ldc, cc, rows, cols, acc);
                        }
                    }
                }
            }
        }
    }
}

void gemm(float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch) {
    gemm_ex(c, ldc, NULL, a, b, m, n, k, accumulate, scratch);
}

// --- tiles for a pool's threads ----------------------------------------------------------------
// About four tiles a thread: a slow core takes fewer. (One or two a thread were not measurably faster on
// the shared 2-core hosts here: docs/performance.md.)
#define TILES_PER_THREAD 4

typedef struct {
    Pool *pool;
    float *c, *scratch;
    int ldc;
    const int *ccol;
    MatView a, b;
    int m, n, k, accumulate;
    int by_columns, unit, units, tiles; // C's longer side: `units` micro-tiles of `unit` columns (or rows) in `tiles` tiles
} GemmTiles;

static void gemm_tile(void *ctx, int tile, int thread) {
    const GemmTiles *t = ctx;
    float *scratch = thread ? pool_scratch(t->pool, thread) : t->scratch;
    int at = pool_piece_start(tile, t->tiles, t->units) * t->unit;
    int len = t->by_columns ? t->n : t->m, end = pool_piece_start(tile + 1, t->tiles, t->units) * t->unit;
    int step = (end < len ? end : len) - at; // columns (or rows) of this tile
    if (t->by_columns) {
        MatView b = t->b;
        if (b.col_off) b.col_off += at;
        else b.p += (ptrdiff_t)at * b.cs;
        if (t->ccol) gemm_ex(t->c, t->ldc, t->ccol + at, t->a, b, t->m, step, t->k, t->accumulate, scratch);
        else gemm_ex(t->c + at, t->ldc, NULL, t->a, b, t->m, step, t->k, t->accumulate, scratch);
    } else {
        MatView a = t->a;
        if (a.packed) a.p += (size_t)at * t->k; // panels of MR rows, k deep; at is a multiple of MR
        else if (a.row_off) a.row_off += at;
        else a.p += (ptrdiff_t)at * a.rs;
        gemm_ex(t->c + (size_t)at * t->ldc, t->ldc, t->ccol, a, t->b, step, t->n, t->k, t->accumulate, scratch);
    }
}

void gemm_ex_par(Pool *pool, float *c, int ldc, const int *ccol, MatView a, MatView b, int m, int n, int k,
                 int accumulate, float *scratch) {
    int threads = pool_threads(pool);
    // Below about 2^18 multiply-adds (tens of microseconds) waking the helpers costs more than it saves.
    if (threads == 1 || (double)m * n * k < (double)(1 << 18) || m <= 0 || n <= 0 || k <= 0) {
        gemm_ex(c, ldc, ccol, a, b, m, n, k, accumulate, scratch);
        return;
    }
    // Cut the longer side of C into TILES_PER_THREAD tiles a thread, each a whole number of
    // micro-tiles and at least four of them (32 columns or 16 rows). Where that leaves fewer, as many
    // as there are whole multiples of the threads, and tile sizes that differ by one micro-tile at
    // most: every thread's home range then holds the same work (7 tiles of 56 columns for 2 threads
    // held 4 and 3).
    int by_columns = n >= m, len = by_columns ? n : m, unit = by_columns ? NR : MR;
    int units = (len + unit - 1) / unit, most = units / 4, tiles = TILES_PER_THREAD * threads;
    if (tiles > most) tiles = most >= threads ? most / threads * threads : (most > 1 ? most : 1);
    GemmTiles t = {pool, c, scratch, ldc, ccol, a, b, m, n, k, accumulate, by_columns, unit, units, tiles};
    pool_run(pool, tiles, gemm_tile, &t);
}

void gemm_par(Pool *pool, float *c, int ldc, MatView a, MatView b, int m, int n, int k, int accumulate, float *scratch) {
    gemm_ex_par(pool, c, ldc, NULL, a, b, m, n, k, accumulate, scratch);
}
