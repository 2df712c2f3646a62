// The transposed pass of kernel 4, stride 2, pad 1 by Winograd's F(2x2, 2x2). Output pixel
// (2qy + py, 2qx + px) of phase (py, px) is a 2x2 stride-1 correlation of the small grid padded by
// one, read from (qy + py, qx + px), with kernel taps (3 - py - 2dy, 3 - px - 2dx). F(2, 2) gives
// two outputs of such a correlation from three inputs with three products instead of four:
//   v = (d0 - d1, d1, d2 - d1),  u = (g0, g0 + g1, g1),  m = u v,  y = (m0 + m1, m1 + m2).
// In 2-D a 2x2 tile of outputs takes 9 products instead of 16, so a phase is 9 GEMMs
// U_ij (channels, c_small) x V_ij (c_small, tiles); the transforms are adds. Every product sums
// c_small terms in a fixed order and every output adds the same four of them: the bits do not
// depend on how the images are grouped or which thread takes a group.
#include "conv_winograd.h"
#include "gemm.h"

#include <string.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

enum { TILE_COLUMNS = 96 }; // tiles a group's GEMMs want at least (12 micro-tiles wide; 300 measured no faster)

// One phase's tiles on one image: th x tw tiles of 2x2 outputs (the last row and column hang over
// an odd grid). A channel is copied into a plane of (2 th + 2) rows of wp floats, zero around the
// image, from which the input transform reads twelve floats a row for four tiles at a time.
typedef struct {
    int th, tw, tiles, wp, plane;
} Tiles;

static Tiles tiles_of(ConvGeom g) {
    Tiles t = {(g.h_out + 1) / 2, (g.w_out + 1) / 2, 0, 0, 0};
    t.tiles = t.th * t.tw;
    t.wp = 2 * ((t.tw + 3) & ~3) + 6;
    t.plane = ((2 * t.th + 2) * t.wp + 3) & ~3;
    return t;
}

// A group of nb images: the plane; V (9, c_small, tiles + 4), later the second phase image; M (9,
// channels, tiles) + 4; the first phase image. The + 4 and the images' slack: a vector of four tiles
// may run past the last one.
static size_t phase_image_floats(ConvGeom g, int nb) {
    return (size_t)g.channels * nb * g.h_out * g.w_out + g.w_out + 8;
}

static size_t group_floats(Tiles t, ConvGeom g, int c_small, int nb) {
    size_t n = (size_t)nb * t.tiles, v = 9 * (size_t)c_small * (n + 4), image = phase_image_floats(g, nb);
    return (size_t)t.plane + (v > image ? v : image) + 9 * (size_t)g.channels * n + 4 + image;
}

static size_t weights_floats(int channels, int c_small) { return 36 * gemm_packed_a_floats(channels, c_small); }

int convw_fits(ConvGeom g, int c_small, const Workspace *ws) {
    return weights_floats(g.channels, c_small) <= ws->tmp_floats &&
           group_floats(tiles_of(g), g, c_small, 1) <= ws->col_floats;
}

typedef struct {
    const Workspace *ws;
    float *x, *u;
    const float *y, *w, *bias;
    Tiles t;
    ConvGeom g;
    int c_small, batch, tasks;
} Pass;

// U of phase `ph` (a task): for each of the 9 (i, j), the (channels, c_small) matrix in
// gemm_pack_a()'s layout (panels of four rows, k-major), rows past the channels zero.
static void transform_weights(void *ctx, int ph, int thread) {
    (void)thread;
    const Pass *f = ctx;
    int C = f->g.channels, K = f->c_small, py = ph >> 1, px = ph & 1;
    size_t one = gemm_packed_a_floats(C, K);
    float *u = f->u + (size_t)ph * 9 * one;
    memset(u, 0, 9 * one * sizeof(float));
    for (int o = 0; o < C; o++)
        for (int c = 0; c < K; c++) {
            const float *wc = f->w + ((size_t)c * C + o) * 16;
            float g[2][2], r[2][3];
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) g[dy][dx] = wc[(3 - py - 2 * dy) * 4 + (3 - px - 2 * dx)];
            for (int dy = 0; dy < 2; dy++) {
                r[dy][0] = g[dy][0];
                r[dy][1] = g[dy][0] + g[dy][1];
                r[dy][2] = g[dy][1];
            }
            size_t at = (size_t)(o & ~3) * K + (size_t)c * 4 + (o & 3);
            for (int j = 0; j < 3; j++) {
                u[0 * 3 * one + j * one + at] = r[0][j];
                u[1 * 3 * one + j * one + at] = r[0][j] + r[1][j];
                u[2 * 3 * one + j * one + at] = r[1][j];
            }
        }
}

// The input transform of four tiles of one tile row: d is the first one's top-left input (rows wp
// apart, the next tile two floats on), v its column of V_00 (V_ij is (3i + j) lv floats on). Tiles
// past the row's end write garbage into the next row's columns (written after) or the slack.
static inline void transform_input(float *v, size_t lv, const float *d, int wp) {
#ifdef __wasm_simd128__
    v128_t r[3][3];
    for (int a = 0; a < 3; a++) {
        const float *row = d + (size_t)a * wp;
        v128_t v0 = wasm_v128_load(row), v1 = wasm_v128_load(row + 4), v2 = wasm_v128_load(row + 8);
        v128_t e = wasm_i32x4_shuffle(v0, v1, 0, 2, 4, 6), o = wasm_i32x4_shuffle(v0, v1, 1, 3, 5, 7);
        v128_t e2 = wasm_i32x4_shuffle(e, v2, 1, 2, 3, 4);
        r[a][0] = wasm_f32x4_sub(e, o);
        r[a][1] = o;
        r[a][2] = wasm_f32x4_sub(e2, o);
    }
    for (int j = 0; j < 3; j++) {
        wasm_v128_store(v + j * lv, wasm_f32x4_sub(r[0][j], r[1][j]));
        wasm_v128_store(v + (3 + j) * lv, r[1][j]);
        wasm_v128_store(v + (6 + j) * lv, wasm_f32x4_sub(r[2][j], r[1][j]));
    }
#else
    for (int l = 0; l < 4; l++) {
        float r[3][3];
        for (int a = 0; a < 3; a++) {
            const float *row = d + (size_t)a * wp + 2 * l;
            r[a][0] = row[0] - row[1];
            r[a][1] = row[1];
            r[a][2] = row[2] - row[1];
        }
        for (int j = 0; j < 3; j++) {
            v[j * lv + l] = r[0][j] - r[1][j];
            v[(3 + j) * lv + l] = r[1][j];
            v[(6 + j) * lv + l] = r[2][j] - r[1][j];
        }
    }
#endif
}

// Tiles tx .. tx + 3 of one tile row: the output transform of M (9 rows lm apart) at m, stored as
// rows 2 ty and 2 ty + 1 of the phase's image (rows w apart) at t, eight floats each, the first row
// first. Past a row's end they spill into the next row or image, written after; past the buffer's
// end into its slack.
static inline void transform_output(float *t, int w, const float *m, size_t lm) {
#ifdef __wasm_simd128__
    v128_t q[9];
    for (int k = 0; k < 9; k++) q[k] = wasm_v128_load(m + k * lm);
    v128_t a0 = wasm_f32x4_add(q[0], q[3]), a1 = wasm_f32x4_add(q[1], q[4]), a2 = wasm_f32x4_add(q[2], q[5]);
    v128_t b0 = wasm_f32x4_add(q[3], q[6]), b1 = wasm_f32x4_add(q[4], q[7]), b2 = wasm_f32x4_add(q[5], q[8]);
    v128_t y00 = wasm_f32x4_add(a0, a1), y01 = wasm_f32x4_add(a1, a2);
    v128_t y10 = wasm_f32x4_add(b0, b1), y11 = wasm_f32x4_add(b1, b2);
    wasm_v128_store(t, wasm_i32x4_shuffle(y00, y01, 0, 4, 1, 5));
    wasm_v128_store(t + 4, wasm_i32x4_shuffle(y00, y01, 2, 6, 3, 7));
    wasm_v128_store(t + w, wasm_i32x4_shuffle(y10, y11, 0, 4, 1, 5));
    wasm_v128_store(t + w + 4, wasm_i32x4_shuffle(y10, y11, 2, 6, 3, 7));
#else
    float y[2][8]; // both rows first: the first row's spill is the second row's start
    for (int l = 0; l < 4; l++) {
        float q[9];
        for (int k = 0; k < 9; k++) q[k] = m[k * lm + l];
        float a0 = q[0] + q[3], a1 = q[1] + q[4], a2 = q[2] + q[5];
        float b0 = q[3] + q[6], b1 = q[4] + q[7], b2 = q[5] + q[8];
        y[0][2 * l] = a0 + a1;
        y[0][2 * l + 1] = a1 + a2;
        y[1][2 * l] = b0 + b1;
        y[1][2 * l + 1] = b1 + b2;
    }
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 8; k++) t[r * w + k] = y[r][k];
#endif
}

// Rows 2qy + py of image i of nb: x (+)= the two phases' images t0, t1 (channels, nb*P) interleaved,
// t0 on the even pixels and t1 on the odd ones; with bias, x = bias + them instead (no read of x).
// The f32x4 path does the same single add per pixel as the plain loop, its twin and tail.
static void interleave_image(float *x, const float *t0, const float *t1, const float *bias, int nb, int py, ConvGeom g,
                             int i) {
    int P = g.h_out * g.w_out, N = nb * P, W2 = g.w;
    size_t x_img = (size_t)g.channels * g.h * g.w;
    for (int o = 0; o < g.channels; o++)
        for (int qy = 0; qy < g.h_out; qy++) {
            const float *e = t0 + (size_t)o * N + i * P + qy * g.w_out, *f = t1 + (e - t0);
            float *d = x + i * x_img + (size_t)o * g.h * g.w + (2 * qy + py) * W2;
            int qx = 0;
#ifdef __wasm_simd128__
            v128_t bv = wasm_f32x4_splat(bias ? bias[o] : 0.0f);
            for (; qx + 4 <= g.w_out; qx += 4) {
                v128_t ev = wasm_v128_load(e + qx), fv = wasm_v128_load(f + qx);
                v128_t lo = wasm_i32x4_shuffle(ev, fv, 0, 4, 1, 5), hi = wasm_i32x4_shuffle(ev, fv, 2, 6, 3, 7);
                float *dq = d + 2 * qx;
                v128_t base0 = bias ? bv : wasm_v128_load(dq), base1 = bias ? bv : wasm_v128_load(dq + 4);
                wasm_v128_store(dq, wasm_f32x4_add(base0, lo));
                wasm_v128_store(dq + 4, wasm_f32x4_add(base1, hi));
            }
#endif
            if (bias) {
                for (; qx < g.w_out; qx++) {
                    d[2 * qx] = bias[o] + e[qx];
                    d[2 * qx + 1] = bias[o] + f[qx];
                }
            } else {
                for (; qx < g.w_out; qx++) {
                    d[2 * qx] += e[qx];
                    d[2 * qx + 1] += f[qx];
                }
            }
        }
}

// A channel's rows into the plane's interior (dst, rows wp apart), whose zeros around it stay. The
// rows are short (7 or 14 floats): a library call per row would cost more than the copy; the vector
// path copies whole vectors, the last one overlapping the one before.
static void copy_plane(float *dst, int wp, const float *src, int h, int w) {
    for (int r = 0; r < h; r++, dst += wp, src += w) {
        int q = 0;
#ifdef __wasm_simd128__
        if (w >= 4) {
            for (; q + 4 <= w; q += 4) wasm_v128_store(dst + q, wasm_v128_load(src + q));
            if (q < w) wasm_v128_store(dst + w - 4, wasm_v128_load(src + w - 4));
            continue;
        }
#endif
        for (; q < w; q++) dst[q] = src[q];
    }
}

// Phase ph of a group's nb images into its image t (channels, nb*P): the input transform into v, the
// 9 GEMMs into m, the output transform.
static void group_phase(const Pass *f, int ph, int b0, int nb, float *plane, float *v, float *m, float *t,
                        float *gemm_scratch) {
    ConvGeom g = f->g;
    Tiles tl = f->t;
    int C = g.channels, K = f->c_small, Hs = g.h_out, Ws = g.w_out, P = Hs * Ws;
    size_t n = (size_t)nb * tl.tiles, lv = n + 4, one_u = gemm_packed_a_floats(C, K);
    const float *d = plane + (ph >> 1) * tl.wp + (ph & 1);
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < K; c++) {
            copy_plane(plane + tl.wp + 1, tl.wp, f->y + ((size_t)(b0 + i) * K + c) * P, Hs, Ws);
            float *vc = v + (size_t)c * lv + (size_t)i * tl.tiles;
            for (int ty = 0; ty < tl.th; ty++)
                for (int tx = 0; tx < tl.tw; tx += 4)
                    transform_input(vc + ty * tl.tw + tx, (size_t)K * lv, d + (size_t)(2 * ty) * tl.wp + 2 * tx, tl.wp);
        }
    for (int ij = 0; ij < 9; ij++)
        gemm(m + (size_t)ij * C * n, (int)n, matview_packed(f->u + (size_t)(ph * 9 + ij) * one_u),
             matview(v + (size_t)ij * K * lv, (int)lv, 1), C, (int)n, K, 0, gemm_scratch);
    // In memory order, a tile row's vectors from the last: what one spills past its rows is written again after.
    for (int o = 0; o < C; o++)
        for (int i = 0; i < nb; i++) {
            const float *mo = m + (size_t)o * n + (size_t)i * tl.tiles;
            float *to = t + (size_t)o * nb * P + (size_t)i * P;
            for (int ty = 0; ty < tl.th; ty++)
                for (int tx = (tl.tw - 1) & ~3; tx >= 0; tx -= 4)
                    transform_output(to + (size_t)(2 * ty) * Ws + 2 * tx, Ws, mo + ty * tl.tw + tx, (size_t)C * n);
        }
}

// A group of images through the four phases, in the area of the thread that took it: for each row
// parity py, phases (py, 0) and (py, 1) into two images, then interleaved into x's rows.
static void winograd_group(void *ctx, int task, int thread) {
    const Pass *f = ctx;
    Tiles t = f->t;
    int b0 = pool_piece_start(task, f->tasks, f->batch), nb = pool_piece_start(task + 1, f->tasks, f->batch) - b0;
    ThreadScratch s = workspace_thread(f->ws, thread);
    size_t n = (size_t)nb * t.tiles, v_floats = 9 * (size_t)f->c_small * (n + 4), image = phase_image_floats(f->g, nb);
    float *plane = s.area, *v = plane + t.plane;
    float *m = v + (v_floats > image ? v_floats : image), *t0 = m + 9 * (size_t)f->g.channels * n + 4;
    memset(plane, 0, (size_t)t.plane * sizeof(float));
    for (int py = 0; py < 2; py++) {
        group_phase(f, 2 * py, b0, nb, plane, v, m, t0, s.gemm);
        group_phase(f, 2 * py + 1, b0, nb, plane, v, m, v, s.gemm); // V is spent once its GEMMs are done
        float *x = f->x + (size_t)b0 * f->g.channels * f->g.h * f->g.w;
        for (int i = 0; i < nb; i++) interleave_image(x, t0, v, f->bias, nb, py, f->g, i);
    }
}

void convw_transposed_k4s2(float *x, const float *y, const float *w, const float *bias, int c_small, int batch,
                           ConvGeom g, const Workspace *ws) {
    Tiles t = tiles_of(g);
    Pool *pool = workspace_pool_for(ws, group_floats(t, g, c_small, 1));
    size_t room = pool ? WS_THREAD_AREA_FLOATS : ws->col_floats;
    int group = (TILE_COLUMNS + t.tiles - 1) / t.tiles;
    if (group > batch) group = batch;
    while (group > 1 && group_floats(t, g, c_small, group) > room) group--;
    // A whole multiple of the threads where there are images enough: equal home ranges.
    int threads = pool_threads(pool), tasks = (batch + group - 1) / group;
    if ((tasks + threads - 1) / threads * threads <= batch) tasks = (tasks + threads - 1) / threads * threads;
    Pass f = {ws, x, ws->tmp, y, w, bias, t, g, c_small, batch, tasks};
    pool_run(ws->pool, 4, transform_weights, &f);
    pool_run(pool, tasks, winograd_group, &f);
}
