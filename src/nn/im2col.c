// im2col / col2im for square kernels with stride and zero padding. The inner x loop is split so the
// common in-bounds stretch is a plain strided copy without per-pixel bounds checks.
#include "im2col.h"
#include "gemm.h"

#include <string.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

// --- row kernels -----------------------------------------------------------------------------
// dst[x] = src[x*stride] for x in [0, n). Stride 1 and 2 (every layer of the model) get f32x4
// paths; the plain loop is their twin and handles every other stride.
static void gather_row_plain(float *dst, const float *src, int n, int stride) {
    for (int x = 0; x < n; x++) dst[x] = src[x * stride];
}

static void gather_row(float *dst, const float *src, int n, int stride) {
#ifdef __wasm_simd128__
    int x = 0;
    if (stride == 1) {
        for (; x + 4 <= n; x += 4) wasm_v128_store(dst + x, wasm_v128_load(src + x));
    } else if (stride == 2) {
        // Eight consecutive floats -> their even lanes. The second load ends at src[2x+7], which the
        // scalar tail never reads past only when 2x+7 < 2n-1: so stop one vector early.
        for (; x + 5 <= n; x += 4) {
            v128_t lo = wasm_v128_load(src + 2 * x), hi = wasm_v128_load(src + 2 * x + 4);
            wasm_v128_store(dst + x, wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6));
        }
    }
    gather_row_plain(dst + x, src + (size_t)x * stride, n - x, stride);
#else
    gather_row_plain(dst, src, n, stride);
#endif
}

// dst[x*stride] += src[x] for x in [0, n): the adjoint of gather_row.
static void scatter_add_row_plain(float *dst, const float *src, int n, int stride) {
    for (int x = 0; x < n; x++) dst[x * stride] += src[x];
}

void scatter_add_row(float *dst, const float *src, int n, int stride) {
#ifdef __wasm_simd128__
    int x = 0;
    if (stride == 1) {
        for (; x + 4 <= n; x += 4)
            wasm_v128_store(dst + x, wasm_f32x4_add(wasm_v128_load(dst + x), wasm_v128_load(src + x)));
    } else if (stride == 2) {
        // src lanes interleaved with zeros, added onto eight consecutive pixels; the odd pixels get
        // + 0.0f, which leaves them unchanged. Stop one vector early so dst[2x+7] stays in the row.
        v128_t zero = wasm_f32x4_splat(0.0f);
        for (; x + 5 <= n; x += 4) {
            v128_t v = wasm_v128_load(src + x);
            float *d = dst + 2 * x;
            wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), wasm_i32x4_shuffle(v, zero, 0, 4, 1, 4)));
            wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), wasm_i32x4_shuffle(v, zero, 2, 4, 3, 4)));
        }
    }
    scatter_add_row_plain(dst + (size_t)x * stride, src + x, n - x, stride);
#else
    scatter_add_row_plain(dst, src, n, stride);
#endif
}

// For output column x, the input column is x*stride - pad + kx: the x range where it is inside [0, w).
static void valid_range(int kx, ConvGeom g, int *x_lo, int *x_hi) {
    int off = kx - g.pad;
    int lo = off >= 0 ? 0 : (-off + g.stride - 1) / g.stride;
    int hi = (g.w - off + g.stride - 1) / g.stride; // first x with x*stride + off >= w
    if (hi > g.w_out) hi = g.w_out;
    if (lo > hi) lo = hi;
    *x_lo = lo; *x_hi = hi;
}

void im2col(float *col, int ldcol, const float *img, ConvGeom g) {
    for (int c = 0; c < g.channels; c++) {
        const float *plane = img + (size_t)c * g.h * g.w;
        for (int ky = 0; ky < g.k; ky++) {
            for (int kx = 0; kx < g.k; kx++) {
                float *row = col + (size_t)((c * g.k + ky) * g.k + kx) * ldcol;
                int x_lo, x_hi;
                valid_range(kx, g, &x_lo, &x_hi);
                for (int y = 0; y < g.h_out; y++) {
                    float *dst = row + y * g.w_out;
                    int iy = y * g.stride - g.pad + ky;
                    if (iy < 0 || iy >= g.h) {
                        for (int x = 0; x < g.w_out; x++) dst[x] = 0.0f;
                        continue;
                    }
                    const float *src = plane + (size_t)iy * g.w + kx - g.pad;
                    for (int x = 0; x < x_lo; x++) dst[x] = 0.0f;
                    gather_row(dst + x_lo, src + (size_t)x_lo * g.stride, x_hi - x_lo, g.stride);
                    for (int x = x_hi; x < g.w_out; x++) dst[x] = 0.0f;
                }
            }
        }
    }
}

void col2im_add(float *img, const float *col, int ldcol, ConvGeom g) {
    for (int c = 0; c < g.channels; c++) {
        float *plane = img + (size_t)c * g.h * g.w;
        for (int ky = 0; ky < g.k; ky++) {
            for (int kx = 0; kx < g.k; kx++) {
                const float *row = col + (size_t)((c * g.k + ky) * g.k + kx) * ldcol;
                int x_lo, x_hi;
                valid_range(kx, g, &x_lo, &x_hi);
                for (int y = 0; y < g.h_out; y++) {
                    int iy = y * g.stride - g.pad + ky;
                    if (iy < 0 || iy >= g.h) continue;
                    const float *src = row + y * g.w_out;
                    float *dst = plane + (size_t)iy * g.w + kx - g.pad;
                    scatter_add_row(dst + (size_t)x_lo * g.stride, src + x_lo, x_hi - x_lo, g.stride);
                }
            }
        }
    }
}

int images_per_chunk(const Workspace *ws, size_t per_image_col, size_t per_image_tmp, int remaining) {
    size_t by_col = per_image_col ? ws->col_floats / per_image_col : (size_t)remaining;
    size_t by_tmp = per_image_tmp ? ws->tmp_floats / per_image_tmp : (size_t)remaining;
    size_t nb = by_col < by_tmp ? by_col : by_tmp;
    if (nb < 1) nb = 1; // the model sizes the workspace for at least one image of its largest layer
    return nb < (size_t)remaining ? (int)nb : remaining;
}

// --- workspace -------------------------------------------------------------------------------
size_t workspace_floats(void) {
    // ints are carved from the same block: both are 4 bytes in wasm32 and on the native targets.
    _Static_assert(sizeof(int) == sizeof(float), "ints and floats share the workspace block");
    return WS_COL_FLOATS + WS_TMP_FLOATS + gemm_scratch_floats() + WS_IDX_INTS;
}

void workspace_carve(Workspace *ws, float *memory) {
    ws->col_floats = WS_COL_FLOATS;
    ws->tmp_floats = WS_TMP_FLOATS;
    ws->idx_ints = WS_IDX_INTS;
    ws->col = memory;
    ws->tmp = ws->col + ws->col_floats;
    ws->gemm = ws->tmp + ws->tmp_floats;
    ws->idx = (int *)(ws->gemm + gemm_scratch_floats());
}

ThreadScratch workspace_thread(const Workspace *ws, int thread) {
    if (thread == 0) return (ThreadScratch){ws->gemm, ws->col};
    float *s = pool_scratch(ws->pool, thread);
    return (ThreadScratch){s, s + gemm_scratch_floats()};
}

size_t workspace_helper_floats(void) { return gemm_scratch_floats() + WS_THREAD_AREA_FLOATS; }

Pool *workspace_pool_for(const Workspace *ws, size_t area_floats) {
    return pool_threads(ws->pool) > 1 && area_floats <= WS_THREAD_AREA_FLOATS ? ws->pool : NULL;
}

// --- zero-padded copies ----------------------------------------------------------------------
static int off_32(int floats) {
    floats = (floats + 3) & ~3;            // keep planes 16-byte aligned
    return floats % 32 == 0 ? floats + 4 : floats;
}

PaddedGeom padded_geom(int channels, int h, int w, int pad, int k, int stride, int h_out, int w_out) {
    PaddedGeom p = {channels, h, w, pad, h + 2 * pad, w + 2 * pad, 0, 0};
    int need_h = (h_out - 1) * stride + k, need_w = (w_out - 1) * stride + k;
    if (need_h > p.hp) p.hp = need_h;
    if (need_w > p.wp) p.wp = need_w;
    p.chp = off_32(p.hp * p.wp);
    p.imgp = channels == 1 ? p.chp : off_32(channels * p.chp);
    return p;
}

size_t padded_floats(PaddedGeom p, int nb) { return (size_t)nb * p.imgp + 16; }

// clang would turn the loops below back into library calls (gcc has no such attribute, nor needs it).
#ifdef __clang__
#define NO_BUILTIN(name) __attribute__((no_builtin(name)))
#else
#define NO_BUILTIN(name)
#endif

// The padded copy is made of short rows (7 to 28 floats): library memset/memcpy calls per row cost
// more than the copying. Each plane is zeroed whole with f32x4 stores (planes are 16-byte aligned,
// chp a multiple of 4), then its rows are copied in; the plain loops are the twin and the tails.
NO_BUILTIN("memset") static void zero_floats(float *dst, size_t n) {
    size_t i = 0;
#ifdef __wasm_simd128__
    v128_t zero = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, zero);
#endif
    for (; i < n; i++) dst[i] = 0.0f;
}

// Each row in whole vectors, the last one overlapping the one before where w is not a multiple of
// four. The loops sit in this one function: a no_builtin function is not inlined into its callers, so
// a helper per row would cost a call per 7-float row.
NO_BUILTIN("memcpy") void copy_rows(float *dst, int dst_stride, const float *src, int h, int w) {
    for (int y = 0; y < h; y++, dst += dst_stride, src += w) {
        int i = 0;
#ifdef __wasm_simd128__
        if (w >= 4) {
            for (; i + 4 <= w; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
            if (i < w) wasm_v128_store(dst + w - 4, wasm_v128_load(src + w - 4));
            continue;
        }
#endif
        for (; i < w; i++) dst[i] = src[i];
    }
}

// Image i of images src_image floats apart, its first p.channels planes.
static void pad_image(float *dst, const float *src, size_t src_image, int i, PaddedGeom p) {
    float *img = dst + (size_t)i * p.imgp;
    for (int c = 0; c < p.channels; c++) {
        float *plane = img + (size_t)c * p.chp;
        const float *s = src + (size_t)i * src_image + (size_t)c * p.h * p.w;
        zero_floats(plane, (size_t)p.chp);
        copy_rows(plane + (size_t)p.pad * p.wp + p.pad, p.wp, s, p.h, p.w);
    }
    size_t used = (size_t)p.channels * p.chp;
    zero_floats(img + used, (size_t)p.imgp - used);
}

typedef struct {
    float *dst;
    const float *src;
    PaddedGeom p;
} PadImages;

static void pad_task(void *ctx, int i, int thread) {
    (void)thread;
    const PadImages *t = ctx;
    pad_image(t->dst, t->src, (size_t)t->p.channels * t->p.h * t->p.w, i, t->p);
}

void pad_images(Pool *pool, float *dst, const float *src, int nb, PaddedGeom p) {
    pool_run(pool, nb, pad_task, &(PadImages){dst, src, p});
    zero_floats(dst + (size_t)nb * p.imgp, 16);
}

void pad_image_slices(float *dst, const float *src, size_t src_image, int nb, PaddedGeom p) {
    for (int i = 0; i < nb; i++) pad_image(dst, src, src_image, i, p);
    zero_floats(dst + (size_t)nb * p.imgp, 16);
}

// Four partial sums per plane (lane l takes pixels l, l+4, ...), added pairwise at the end: the
// f32x4 loop and the plain loop, its twin and tail, add the same floats in the same order.
void bias_grad_add(float *db, const float *dout, int batch, int channels, int plane) {
    int p4 = plane & ~3;
    for (int i = 0; i < batch; i++)
        for (int c = 0; c < channels; c++) {
            const float *src = dout + ((size_t)i * channels + c) * plane;
            float lane[4] = {0, 0, 0, 0};
            int p = 0;
#ifdef __wasm_simd128__
            v128_t acc = wasm_f32x4_splat(0.0f);
            for (; p < p4; p += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(src + p));
            wasm_v128_store(lane, acc);
#endif
            for (; p < p4; p += 4)
                for (int l = 0; l < 4; l++) lane[l] += src[p + l];
            float sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
            for (; p < plane; p++) sum += src[p];
            db[c] += sum;
        }
}
