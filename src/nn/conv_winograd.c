// Convolutions by Winograd's minimal filtering: kernel 3, stride 1, pad 1 (conv3) by F(2x2, 3x3)
// (its own section below), and the kernel-4, stride-2, pad-1 passes by F(2x2, 2x2). Those split into
// four phases of 2x2 stride-1 correlations:
// - the transposed pass (deconv1 and deconv2 forward, conv2's input gradient): output pixel
//   (2qy + py, 2qx + px) of phase (py, px) correlates the small grid padded by one, read from
//   (qy + py, qx + px), with kernel taps (3 - py - 2dy, 3 - px - 2dx);
// - the convolution (conv2 forward, deconv1 and deconv2's input gradients): phase (py, px) of the
//   big grid padded by one, X(a, b) = x(2a + py, 2b + px), correlated with taps (2dy + py, 2dx + px),
//   gives every output pixel, and the four phases add up.
// F(2, 2) gives two outputs of such a correlation from three inputs with three products instead of four:
//   v = (d0 - d1, d1, d2 - d1),  u = (g0, g0 + g1, g1),  m = u v,  y = (m0 + m1, m1 + m2).
// In 2-D a 2x2 tile of outputs takes 9 products instead of 16: 9 GEMMs U_ij (rows, K) x V_ij (K,
// tiles), K = c_small for a transposed phase and 4 x channels (the four phases) for the convolution;
// the transforms are adds. Every product sums its K terms in a fixed order and every output adds
// the same four of them: the bits do not depend on how the images are grouped or which thread takes
// a group. The weight gradient (at the end of this file) is the same F(2, 2) with dy's tiles in the
// kernel's place, summed over every tile of every image.
#include "conv_winograd.h"
#include "gemm.h"

#include <string.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

enum { TILE_COLUMNS = 96 }; // tiles a group's GEMMs want at least (12 micro-tiles wide; 300 measured no faster)

// One phase's tiles on one image: th x tw tiles of 2x2 outputs on the small grid (the last row and
// column hang over an odd grid). A channel is copied into a plane of step th + 2 rows of wp floats,
// zero around the image (step: 2 for the small grid the transposed pass reads, 4 for the big grid the
// convolution reads), from which the input transform reads rows of four tiles at a time.
typedef struct {
    int th, tw, tiles, step, wp, plane;
} Tiles;

static Tiles tiles_of(ConvGeom g, int step) {
    Tiles tl = {(g.h_out + 1) / 2, (g.w_out + 1) / 2, 0, step, 0, 0};
    tl.tiles = tl.th * tl.tw;
    tl.wp = step * ((tl.tw + 3) & ~3) + step + 4;
    tl.plane = ((step * tl.th + 2) * tl.wp + 3) & ~3;
    return tl;
}

// A group of nb images, n = nb x tiles: the plane; V (9, K, n + 4), later an image of the outputs;
// M (9, rows, n) + 4; for the transposed pass the first phase's image too. The + 4: a vector of four
// tiles may run past the last one. An image's slack: on an odd grid the last tile row's second row
// lies past the image, and its vectors up to w_out + 7 floats past the buffer's end.
static size_t small_image_floats(int channels, ConvGeom g, int nb) {
    return (size_t)channels * nb * g.h_out * g.w_out + g.w_out + 8;
}

// points: 9 for F(2x2, 2x2), 16 for F(2x2, 3x3).
static size_t group_floats(Tiles tl, ConvGeom g, int rows, int K, int nb, int two_images, int points) {
    size_t n = (size_t)nb * tl.tiles, v = points * (size_t)K * (n + 4), image = small_image_floats(rows, g, nb);
    return (size_t)tl.plane + (v > image ? v : image) + points * (size_t)rows * n + 4 + (two_images ? image : 0);
}

static size_t transposed_group_floats(ConvGeom g, int c_small, int nb) {
    return group_floats(tiles_of(g, 2), g, g.channels, c_small, nb, 1, 9);
}

static size_t conv_group_floats(ConvGeom g, int c_small, int nb) {
    return group_floats(tiles_of(g, 4), g, c_small, 4 * g.channels, nb, 0, 9);
}

// F(2x2, 3x3)'s tiles are those of the transposed pass: step 2 on a grid padded by one.
static size_t conv3_group_floats(ConvGeom g, int c_small, int nb) {
    return group_floats(tiles_of(g, 2), g, c_small, g.channels, nb, 0, 16);
}

static int is_k4s2p1(ConvGeom g) {
    return g.k == 4 && g.stride == 2 && g.pad == 1 && g.h == 2 * g.h_out && g.w == 2 * g.w_out;
}

// The GEMMs have `rows` rows and K columns of U: below four rows most of each 4x8 tile would be
// wasted, and a convolution of fewer than four channels (conv1 has one) has little K to share.
int convw_transposed_fits(ConvGeom g, int c_small, const Workspace *ws) {
    return is_k4s2p1(g) && g.channels >= 4 &&
           36 * gemm_packed_a_floats(g.channels, c_small) <= ws->tmp_floats &&
           transposed_group_floats(g, c_small, 1) <= ws->col_floats;
}

int convw_fits(ConvGeom g, int c_small, const Workspace *ws) {
    return is_k4s2p1(g) && g.channels >= 4 && c_small >= 4 &&
           9 * gemm_packed_a_floats(c_small, 4 * g.channels) <= ws->tmp_floats &&
           conv_group_floats(g, c_small, 1) <= ws->col_floats;
}

typedef struct {
    const Workspace *ws;
    float *out;              // the transposed pass: (B, channels, big); the convolution: (B, c_small, small)
    float *u;                // the transformed weights, in tmp: 36 (channels, c_small) or 9 (c_small, 4 channels)
    const float *in;         // the other side: (B, c_small, small) or (B, channels, big)
    const float *w, *bias;   // w (c_small, channels, 4, 4); bias (channels) or NULL
    Tiles tl;
    ConvGeom g;
    int c_small, batch, tasks;
    int flipped; // conv3's input gradient: w stored (channels, c_small, 3, 3), its taps reversed
} Pass;

// The weight transform of one 2x2 kernel, (g0, g0 + g1, g1) along both axes, stored into the 9
// matrices (`one` floats apart) at offset `at`.
static inline void store_weights(float *u, size_t one, size_t at, float taps[2][2]) {
    float r[2][3];
    for (int dy = 0; dy < 2; dy++) {
        r[dy][0] = taps[dy][0];
        r[dy][1] = taps[dy][0] + taps[dy][1];
        r[dy][2] = taps[dy][1];
    }
    for (int j = 0; j < 3; j++) {
        u[j * one + at] = r[0][j];
        u[(3 + j) * one + at] = r[0][j] + r[1][j];
        u[(6 + j) * one + at] = r[1][j];
    }
}

// The transposed pass's U of phase `ph` (a task): for each of the 9 (i, j), the (channels, c_small)
// matrix in gemm_pack_a()'s layout (panels of four rows, k-major), rows past the channels zero.
static void transposed_weights(void *ctx, int ph, int thread) {
    (void)thread;
    const Pass *f = ctx;
    int C = f->g.channels, K = f->c_small, py = ph >> 1, px = ph & 1;
    size_t one = gemm_packed_a_floats(C, K);
    float *u = f->u + (size_t)ph * 9 * one;
    for (int o = 0; o < (C + 3) / 4 * 4; o++)
        for (int c = 0; c < K; c++) {
            const float *wc = o < C ? f->w + ((size_t)c * C + o) * 16 : NULL;
            float taps[2][2];
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) taps[dy][dx] = wc ? wc[(3 - py - 2 * dy) * 4 + (3 - px - 2 * dx)] : 0.0f;
            store_weights(u, one, (size_t)(o & ~3) * K + (size_t)c * 4 + (o & 3), taps);
        }
}

// The convolution's U, the part of phase `ph` (a task): columns ph * channels + c of the 9
// (c_small, 4 channels) matrices, in gemm_pack_a()'s layout, rows past c_small zero.
static void conv_weights(void *ctx, int ph, int thread) {
    (void)thread;
    const Pass *f = ctx;
    int C = f->g.channels, R = f->c_small, K = 4 * C, py = ph >> 1, px = ph & 1;
    size_t one = gemm_packed_a_floats(R, K);
    for (int o = 0; o < (R + 3) / 4 * 4; o++)
        for (int c = 0; c < C; c++) {
            const float *wc = o < R ? f->w + ((size_t)o * C + c) * 16 : NULL;
            float taps[2][2];
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) taps[dy][dx] = wc ? wc[(2 * dy + py) * 4 + 2 * dx + px] : 0.0f;
            store_weights(f->u, one, (size_t)(o & ~3) * K + (size_t)(ph * C + c) * 4 + (o & 3), taps);
        }
}

// The input transform of four tiles of one tile row: d is the first one's top-left input (the next
// tile `step` floats on, a tile's three columns step / 2 apart, its three rows step / 2 rows of wp
// floats apart), v its column of V_00 (V_ij is (3i + j) lv floats on). Tiles past the row's end
// write garbage into the next row's columns (written after) or the slack.
static inline void transform_input(float *v, size_t lv, const float *d, int wp, int step) {
#ifdef __wasm_simd128__
    v128_t r[3][3];
    for (int a = 0; a < 3; a++) {
        const float *row = d + (size_t)a * (step / 2) * wp;
        v128_t v0 = wasm_v128_load(row), v1 = wasm_v128_load(row + 4), v2 = wasm_v128_load(row + 8), e0, e1, e2;
        if (step == 2) { // columns 2l, 2l + 1, 2l + 2
            e0 = wasm_i32x4_shuffle(v0, v1, 0, 2, 4, 6);
            e1 = wasm_i32x4_shuffle(v0, v1, 1, 3, 5, 7);
            e2 = wasm_i32x4_shuffle(e0, v2, 1, 2, 3, 4);
        } else { // columns 4l, 4l + 2, 4l + 4
            v128_t v3 = wasm_v128_load(row + 12), v4 = wasm_v128_load(row + 16);
            v128_t t0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 2, 6), t1 = wasm_i32x4_shuffle(v2, v3, 0, 4, 2, 6);
            e0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5);
            e1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
            e2 = wasm_i32x4_shuffle(e0, v4, 1, 2, 3, 4);
        }
        r[a][0] = wasm_f32x4_sub(e0, e1);
        r[a][1] = e1;
        r[a][2] = wasm_f32x4_sub(e2, e1);
    }
    for (int j = 0; j < 3; j++) {
        wasm_v128_store(v + j * lv, wasm_f32x4_sub(r[0][j], r[1][j]));
        wasm_v128_store(v + (3 + j) * lv, r[1][j]);
        wasm_v128_store(v + (6 + j) * lv, wasm_f32x4_sub(r[2][j], r[1][j]));
    }
#else
    int half = step / 2;
    for (int l = 0; l < 4; l++) {
        float r[3][3];
        for (int a = 0; a < 3; a++) {
            const float *row = d + (size_t)a * half * wp + step * l;
            r[a][0] = row[0] - row[half];
            r[a][1] = row[half];
            r[a][2] = row[2 * half] - row[half];
        }
        for (int j = 0; j < 3; j++) {
            v[j * lv + l] = r[0][j] - r[1][j];
            v[(3 + j) * lv + l] = r[1][j];
            v[(6 + j) * lv + l] = r[2][j] - r[1][j];
        }
    }
#endif
}

// F(2x2, 3x3)'s input transform, B^T d B with B^T = (1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1), of
// four tiles of one tile row: d the first one's top-left in the padded plane (rows wp apart, the next
// tile two floats on), v its column of V_00 (V_ij is (4i + j) lv floats on).
static inline void transform_input_3x3(float *v, size_t lv, const float *d, int wp) {
#ifdef __wasm_simd128__
    v128_t r[4][4];
    for (int a = 0; a < 4; a++) {
        const float *row = d + (size_t)a * wp;
        v128_t v0 = wasm_v128_load(row), v1 = wasm_v128_load(row + 4), v2 = wasm_v128_load(row + 8);
        v128_t e0 = wasm_i32x4_shuffle(v0, v1, 0, 2, 4, 6), e1 = wasm_i32x4_shuffle(v0, v1, 1, 3, 5, 7);
        v128_t e2 = wasm_i32x4_shuffle(e0, v2, 1, 2, 3, 4), e3 = wasm_i32x4_shuffle(e1, v2, 1, 2, 3, 5);
        r[a][0] = wasm_f32x4_sub(e0, e2);
        r[a][1] = wasm_f32x4_add(e1, e2);
        r[a][2] = wasm_f32x4_sub(e2, e1);
        r[a][3] = wasm_f32x4_sub(e1, e3);
    }
    for (int j = 0; j < 4; j++) {
        wasm_v128_store(v + j * lv, wasm_f32x4_sub(r[0][j], r[2][j]));
        wasm_v128_store(v + (4 + j) * lv, wasm_f32x4_add(r[1][j], r[2][j]));
        wasm_v128_store(v + (8 + j) * lv, wasm_f32x4_sub(r[2][j], r[1][j]));
        wasm_v128_store(v + (12 + j) * lv, wasm_f32x4_sub(r[1][j], r[3][j]));
    }
#else
    for (int l = 0; l < 4; l++) {
        float r[4][4];
        for (int a = 0; a < 4; a++) {
            const float *row = d + (size_t)a * wp + 2 * l;
            r[a][0] = row[0] - row[2];
            r[a][1] = row[1] + row[2];
            r[a][2] = row[2] - row[1];
            r[a][3] = row[1] - row[3];
        }
        for (int j = 0; j < 4; j++) {
            v[j * lv + l] = r[0][j] - r[2][j];
            v[(4 + j) * lv + l] = r[1][j] + r[2][j];
            v[(8 + j) * lv + l] = r[2][j] - r[1][j];
            v[(12 + j) * lv + l] = r[1][j] - r[3][j];
        }
    }
#endif
}

// Tiles tx .. tx + 3 of one tile row: the output transform of M (9 rows lm apart) at m, stored as
// rows 2 ty and 2 ty + 1 of an image (rows w apart) at img, eight floats each, the first row
// first. Past a row's end they spill into the next row or image, written after; past the buffer's
// end into its slack.
static inline void transform_output(float *img, int w, const float *m, size_t lm) {
#ifdef __wasm_simd128__
    v128_t q[9];
    for (int k = 0; k < 9; k++) q[k] = wasm_v128_load(m + k * lm);
    v128_t a0 = wasm_f32x4_add(q[0], q[3]), a1 = wasm_f32x4_add(q[1], q[4]), a2 = wasm_f32x4_add(q[2], q[5]);
    v128_t b0 = wasm_f32x4_add(q[3], q[6]), b1 = wasm_f32x4_add(q[4], q[7]), b2 = wasm_f32x4_add(q[5], q[8]);
    v128_t y00 = wasm_f32x4_add(a0, a1), y01 = wasm_f32x4_add(a1, a2);
    v128_t y10 = wasm_f32x4_add(b0, b1), y11 = wasm_f32x4_add(b1, b2);
    wasm_v128_store(img, wasm_i32x4_shuffle(y00, y01, 0, 4, 1, 5));
    wasm_v128_store(img + 4, wasm_i32x4_shuffle(y00, y01, 2, 6, 3, 7));
    wasm_v128_store(img + w, wasm_i32x4_shuffle(y10, y11, 0, 4, 1, 5));
    wasm_v128_store(img + w + 4, wasm_i32x4_shuffle(y10, y11, 2, 6, 3, 7));
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
        for (int k = 0; k < 8; k++) img[r * w + k] = y[r][k];
#endif
}

// F(2x2, 3x3)'s output transform, y = A^T m A with A^T = (1 1 1 0; 0 1 -1 -1), of four tiles: M's
// 16 points (lm floats apart) at m, stored as transform_output() stores them.
static inline void transform_output_3x3(float *img, int w, const float *m, size_t lm) {
#ifdef __wasm_simd128__
    v128_t s[4][2];
    for (int i = 0; i < 4; i++) {
        v128_t q0 = wasm_v128_load(m + (4 * i) * lm), q1 = wasm_v128_load(m + (4 * i + 1) * lm);
        v128_t q2 = wasm_v128_load(m + (4 * i + 2) * lm), q3 = wasm_v128_load(m + (4 * i + 3) * lm);
        s[i][0] = wasm_f32x4_add(wasm_f32x4_add(q0, q1), q2);
        s[i][1] = wasm_f32x4_sub(wasm_f32x4_sub(q1, q2), q3);
    }
    v128_t y[2][2];
    for (int j = 0; j < 2; j++) {
        y[0][j] = wasm_f32x4_add(wasm_f32x4_add(s[0][j], s[1][j]), s[2][j]);
        y[1][j] = wasm_f32x4_sub(wasm_f32x4_sub(s[1][j], s[2][j]), s[3][j]);
    }
    wasm_v128_store(img, wasm_i32x4_shuffle(y[0][0], y[0][1], 0, 4, 1, 5));
    wasm_v128_store(img + 4, wasm_i32x4_shuffle(y[0][0], y[0][1], 2, 6, 3, 7));
    wasm_v128_store(img + w, wasm_i32x4_shuffle(y[1][0], y[1][1], 0, 4, 1, 5));
    wasm_v128_store(img + w + 4, wasm_i32x4_shuffle(y[1][0], y[1][1], 2, 6, 3, 7));
#else
    float y[2][8]; // both rows first, as in transform_output()
    for (int l = 0; l < 4; l++) {
        float s[4][2];
        for (int i = 0; i < 4; i++) {
            float q0 = m[(4 * i) * lm + l], q1 = m[(4 * i + 1) * lm + l], q2 = m[(4 * i + 2) * lm + l], q3 = m[(4 * i + 3) * lm + l];
            s[i][0] = (q0 + q1) + q2;
            s[i][1] = (q1 - q2) - q3;
        }
        for (int j = 0; j < 2; j++) {
            y[0][2 * l + j] = (s[0][j] + s[1][j]) + s[2][j];
            y[1][2 * l + j] = (s[1][j] - s[2][j]) - s[3][j];
        }
    }
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 8; k++) img[r * w + k] = y[r][k];
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

// The tiles of one plane (d: phase (py, px)'s first input) into V, column vc of V_00 on.
static void transform_plane(float *vc, size_t lv, const float *d, Tiles tl) {
    for (int ty = 0; ty < tl.th; ty++)
        for (int tx = 0; tx < tl.tw; tx += 4)
            transform_input(vc + ty * tl.tw + tx, lv, d + (size_t)(tl.step * ty) * tl.wp + tl.step * tx, tl.wp, tl.step);
}

// The output transform of M (points, rows, n) into an image img (rows, nb*P) of nb images on the
// small grid. In memory order, a tile row's vectors from the last: what one spills past its rows is
// written again after.
static void transform_images(float *img, const float *m, int rows, int nb, Tiles tl, ConvGeom g, int points) {
    int P = g.h_out * g.w_out;
    size_t n = (size_t)nb * tl.tiles;
    for (int o = 0; o < rows; o++)
        for (int i = 0; i < nb; i++) {
            const float *mo = m + (size_t)o * n + (size_t)i * tl.tiles;
            float *io = img + (size_t)o * nb * P + (size_t)i * P;
            for (int ty = 0; ty < tl.th; ty++)
                for (int tx = (tl.tw - 1) & ~3; tx >= 0; tx -= 4) {
                    float *to = io + (size_t)(2 * ty) * g.w_out + 2 * tx;
                    if (points == 9) transform_output(to, g.w_out, mo + ty * tl.tw + tx, (size_t)rows * n);
                    else transform_output_3x3(to, g.w_out, mo + ty * tl.tw + tx, (size_t)rows * n);
                }
        }
}

// The GEMMs M_ij (rows, n) = U_ij (rows, K) x V_ij (K, n), one for each of the transforms' points.
static void multiply(float *m, const float *u, const float *v, int rows, int K, size_t n, int points,
                     float *gemm_scratch) {
    size_t one = gemm_packed_a_floats(rows, K), lv = n + 4;
    for (int ij = 0; ij < points; ij++)
        gemm(m + (size_t)ij * rows * n, (int)n, matview_packed(u + ij * one), matview(v + (size_t)ij * K * lv, (int)lv, 1),
             rows, (int)n, K, 0, gemm_scratch);
}

// The transposed pass's phase ph of a group's nb images into its image img (channels, nb*P).
static void transposed_phase(const Pass *f, int ph, int b0, int nb, float *plane, float *v, float *m, float *img,
                             float *gemm_scratch) {
    ConvGeom g = f->g;
    Tiles tl = f->tl;
    int K = f->c_small, P = g.h_out * g.w_out;
    size_t n = (size_t)nb * tl.tiles, lv = n + 4;
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < K; c++) {
            copy_rows(plane + tl.wp + 1, tl.wp, f->in + ((size_t)(b0 + i) * K + c) * P, g.h_out, g.w_out);
            transform_plane(v + (size_t)c * lv + (size_t)i * tl.tiles, (size_t)K * lv,
                            plane + (ph >> 1) * tl.wp + (ph & 1), tl);
        }
    multiply(m, f->u + (size_t)ph * 9 * gemm_packed_a_floats(g.channels, K), v, g.channels, K, n, 9, gemm_scratch);
    transform_images(img, m, g.channels, nb, tl, g, 9);
}

static int group_start(const Pass *f, int task) { return pool_piece_start(task, f->tasks, f->batch); }

// The transposed pass on a group of images (a task), in the area of the thread that took it: for
// each row parity py, phases (py, 0) and (py, 1) into two images, then interleaved into the output's rows.
static void transposed_group(void *ctx, int task, int thread) {
    const Pass *f = ctx;
    Tiles tl = f->tl;
    int b0 = group_start(f, task), nb = group_start(f, task + 1) - b0;
    ThreadScratch s = workspace_thread(f->ws, thread);
    size_t n = (size_t)nb * tl.tiles, v_floats = 9 * (size_t)f->c_small * (n + 4);
    size_t image = small_image_floats(f->g.channels, f->g, nb);
    float *plane = s.area, *v = plane + tl.plane;
    float *m = v + (v_floats > image ? v_floats : image), *first = m + 9 * (size_t)f->g.channels * n + 4;
    memset(plane, 0, (size_t)tl.plane * sizeof(float));
    float *out = f->out + (size_t)b0 * f->g.channels * f->g.h * f->g.w;
    for (int py = 0; py < 2; py++) {
        transposed_phase(f, 2 * py, b0, nb, plane, v, m, first, s.gemm);
        transposed_phase(f, 2 * py + 1, b0, nb, plane, v, m, v, s.gemm); // V is spent once its GEMMs are done
        for (int i = 0; i < nb; i++) interleave_image(out, first, v, f->bias, nb, py, f->g, i);
    }
}

// x's transform of one channel's plane for phase ph (kernel 4, points 9: d the phase's first input,
// step 4) or for F(2x2, 3x3) (points 16, step 2 on the grid padded by one) into V, column vc of V_00
// on (V_ij lv floats apart).
static void transform_conv_plane(float *vc, size_t lv, const float *plane, Tiles tl, int points, int ph) {
    if (points == 9) {
        transform_plane(vc, lv, plane + (ph >> 1) * tl.wp + (ph & 1), tl);
        return;
    }
    for (int ty = 0; ty < tl.th; ty++)
        for (int tx = 0; tx < tl.tw; tx += 4)
            transform_input_3x3(vc + ty * tl.tw + tx, lv, plane + (size_t)(2 * ty) * tl.wp + 2 * tx, tl.wp);
}

// The convolution on a group of images (a task), kernel 4 stride 2 (points 9) or kernel 3 stride 1
// (points 16): each channel's plane copied once and transformed (for kernel 4 for the four phases,
// V's rows ph * channels + c), the GEMMs, the output transform into an image of the outputs where V
// was, added to the output.
static void conv_group_points(const Pass *f, int task, int thread, int points) {
    ConvGeom g = f->g;
    Tiles tl = f->tl;
    int C = g.channels, R = f->c_small, phases = points == 9 ? 4 : 1, K = phases * C, P = g.h_out * g.w_out;
    int b0 = group_start(f, task), nb = group_start(f, task + 1) - b0;
    ThreadScratch s = workspace_thread(f->ws, thread);
    size_t n = (size_t)nb * tl.tiles, lv = n + 4, v_floats = points * (size_t)K * lv, image = small_image_floats(R, g, nb);
    float *plane = s.area, *v = plane + tl.plane, *m = v + (v_floats > image ? v_floats : image);
    memset(plane, 0, (size_t)tl.plane * sizeof(float));
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < C; c++) {
            copy_rows(plane + tl.wp + 1, tl.wp, f->in + ((size_t)(b0 + i) * C + c) * g.h * g.w, g.h, g.w);
            for (int ph = 0; ph < phases; ph++)
                transform_conv_plane(v + (size_t)(ph * C + c) * lv + (size_t)i * tl.tiles, (size_t)K * lv, plane, tl,
                                     points, ph);
        }
    multiply(m, f->u, v, R, K, n, points, s.gemm);
    transform_images(v, m, R, nb, tl, g, points);
    for (int o = 0; o < R; o++)
        for (int i = 0; i < nb; i++)
            scatter_add_row(f->out + ((size_t)(b0 + i) * R + o) * P, v + (size_t)o * nb * P + (size_t)i * P, P, 1);
}

static void conv_group(void *ctx, int task, int thread) { conv_group_points(ctx, task, thread, 9); }
static void conv3_group(void *ctx, int task, int thread) { conv_group_points(ctx, task, thread, 16); }

// Groups of images for TILE_COLUMNS tiles or more, as many as fit a helper's area (the leader's
// column buffer where one does not), and tasks a whole multiple of the threads where there are
// images enough: equal home ranges. Returns the pool the groups share (NULL: the leader alone).
static Pool *plan_groups(Pass *f, size_t (*floats)(ConvGeom, int, int)) {
    const Workspace *ws = f->ws;
    Pool *pool = workspace_pool_for(ws, floats(f->g, f->c_small, 1));
    size_t room = pool ? WS_THREAD_AREA_FLOATS : ws->col_floats;
    int group = (TILE_COLUMNS + f->tl.tiles - 1) / f->tl.tiles;
    if (group > f->batch) group = f->batch;
    while (group > 1 && floats(f->g, f->c_small, group) > room) group--;
    f->tasks = pool_even_tasks(f->batch, group, pool_threads(pool));
    return pool;
}

void convw_transposed_k4s2(float *x, const float *y, const float *w, const float *bias, int c_small, int batch,
                           ConvGeom g, const Workspace *ws) {
    Pass f = {ws, x, ws->tmp, y, w, bias, tiles_of(g, 2), g, c_small, batch, 0, 0};
    Pool *pool = plan_groups(&f, transposed_group_floats);
    pool_run(ws->pool, 4, transposed_weights, &f);
    pool_run(pool, f.tasks, transposed_group, &f);
}

void convw_forward_k4s2(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g,
                        const Workspace *ws) {
    Pass f = {ws, y, ws->tmp, x, w, NULL, tiles_of(g, 4), g, c_small, batch, 0, 0};
    Pool *pool = plan_groups(&f, conv_group_floats);
    pool_run(ws->pool, 4, conv_weights, &f);
    pool_run(pool, f.tasks, conv_group, &f);
}

// --- F(2x2, 3x3): kernel 3, stride 1, pad 1 -------------------------------------------------
// conv3's forward pass and input gradient. A 2x2 tile of outputs reads a 4x4 tile of the input padded
// by one (tiles two apart): 16 products instead of 36, with V = B^T d B, B^T = (1 0 -1 0; 0 1 1 0;
// 0 -1 1 0; 0 1 0 -1), U = G g G^T, G = (1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1), and A^T above.
// 16 GEMMs U_ij (c_small, channels) x V_ij (channels, tiles), everything else as conv_group.

static int is_k3s1p1(ConvGeom g) {
    return g.k == 3 && g.stride == 1 && g.pad == 1 && g.h == g.h_out && g.w == g.w_out;
}

int convw3_fits(ConvGeom g, int c_small, const Workspace *ws) {
    return is_k3s1p1(g) && g.channels >= 4 && c_small >= 4 &&
           16 * gemm_packed_a_floats(c_small, g.channels) <= ws->tmp_floats &&
           conv3_group_floats(g, c_small, 1) <= ws->col_floats;
}

// U's rows of part `part` of four (a task): for each row o and channel c, G g G^T of its 3x3 taps
// into the 16 (c_small, channels) matrices in gemm_pack_a()'s layout, rows past c_small zero.
static void conv3_weights(void *ctx, int part, int thread) {
    (void)thread;
    const Pass *f = ctx;
    int C = f->g.channels, R = f->c_small, units = (R + 3) / 4;
    size_t one = gemm_packed_a_floats(R, C);
    for (int o = pool_piece_start(part, 4, units) * 4; o < pool_piece_start(part + 1, 4, units) * 4; o++)
        for (int c = 0; c < C; c++) {
            float g[3][3] = {{0}}, r[3][4];
            if (o < R)
                for (int k = 0; k < 9; k++)
                    g[k / 3][k % 3] = f->flipped ? f->w[((size_t)c * R + o) * 9 + 8 - k] : f->w[((size_t)o * C + c) * 9 + k];
            for (int a = 0; a < 3; a++) {
                r[a][0] = g[a][0];
                r[a][1] = 0.5f * (g[a][0] + g[a][1] + g[a][2]);
                r[a][2] = 0.5f * (g[a][0] - g[a][1] + g[a][2]);
                r[a][3] = g[a][2];
            }
            size_t at = (size_t)(o & ~3) * C + (size_t)c * 4 + (o & 3);
            for (int j = 0; j < 4; j++) {
                f->u[j * one + at] = r[0][j];
                f->u[(4 + j) * one + at] = 0.5f * (r[0][j] + r[1][j] + r[2][j]);
                f->u[(8 + j) * one + at] = 0.5f * (r[0][j] - r[1][j] + r[2][j]);
                f->u[(12 + j) * one + at] = r[2][j];
            }
        }
}

void convw3_forward(float *y, const float *x, const float *w, int flipped, int c_small, int batch, ConvGeom g,
                    const Workspace *ws) {
    Pass f = {ws, y, ws->tmp, x, w, NULL, tiles_of(g, 2), g, c_small, batch, 0, flipped};
    Pool *pool = plan_groups(&f, conv3_group_floats);
    pool_run(ws->pool, 4, conv3_weights, &f);
    pool_run(pool, f.tasks, conv3_group, &f);
}

// --- the weight gradients --------------------------------------------------------------------
// Kernel 4, stride 2: dw's taps (2dy + py, 2dx + px) of phase (py, px) correlate dy's 2x2 tiles with
// the phase's 3x3 regions, summed over every tile of every image: the same F(2, 2) with dy's tile in
// the kernel's place, u = (g0, g0 + g1, g1), V the convolution's own input transform, and the output
// transform giving the four taps: 9 GEMMs M_ij (rows, 4 x channels) += U_ij (rows, n) x V_ij^T (n,
// 4 x channels) over chunks of images, n = a chunk's tiles.
// Kernel 3, stride 1: dw's 3x3 taps correlate dy's 2x2 tiles with 4x4 regions, F(3, 2), the
// transpose of F(2, 3) (from sum_i Y_i y_i = sum_j g_j dW_j): dW = G^T [(A Y A^T) . (B^T d B)] G, V
// the forward pass's own input transform: 16 GEMMs M_ij (rows, channels) += U_ij (rows, n) x V_ij^T.
// A task takes a slice of x's channels (of dw's columns) through every chunk, transforming dy
// itself: the chunks, so the order of each weight's sum, depend on the layer alone, never on the
// slices or the threads.

enum {
    WEIGHT_TILES = 128, // tiles of a chunk at most, unless one image has more: K of its GEMMs
    WEIGHT_SLICE = 4,   // channels of a slice a chunk must leave room for in a helper's area
    WEIGHT_SLICES_PER_THREAD = 4,
};

// Kernel 4 stride 2 (9 points, x's four phases) or kernel 3 stride 1 (16 points, one).
typedef struct {
    int points, phases;
    Tiles tl; // x's tiles (step 4 on the phases' grid, step 2 on the padded grid); dy's alike
} WeightForm;

static WeightForm weight_form(ConvGeom g) {
    return is_k4s2p1(g) ? (WeightForm){9, 4, tiles_of(g, 4)} : (WeightForm){16, 1, tiles_of(g, 2)};
}

typedef struct {
    const Workspace *ws;
    float *dw;
    const float *dy, *x;
    WeightForm form;
    ConvGeom g;
    int rows, batch, nb, slices; // nb: images a chunk
} WeightPass;

// dy's plane: 2 x th rows of wy floats, zero past the grid, read eight floats (four tiles) at a time.
static int dy_plane_width(Tiles tl) { return 8 * ((tl.tw + 3) / 4); }
static size_t dy_plane_floats(Tiles tl) { return (size_t)2 * tl.th * dy_plane_width(tl); }

// A task's area: x's plane, dy's plane, U (points, rows, lv), V (points, phases x cs, lv), and
// unless it sits in tmp (the leader's tasks, where it fits), M (points, rows, phases x cs).
static size_t weight_m_floats(WeightForm wf, int rows, int cs) { return (size_t)wf.points * rows * wf.phases * cs; }

static size_t weight_task_floats(WeightForm wf, int rows, int nb, int cs, int m_in_tmp) {
    size_t lv = (size_t)nb * wf.tl.tiles + 4;
    return (size_t)wf.tl.plane + dy_plane_floats(wf.tl) + wf.points * lv * ((size_t)rows + (size_t)wf.phases * cs) +
           (m_in_tmp ? 0 : weight_m_floats(wf, rows, cs));
}

// Images a chunk: up to WEIGHT_TILES tiles, as many as leave room for a slice of WEIGHT_SLICE
// channels in a helper's area and, where M for every channel fits tmp, for every channel in the
// column buffer (the leader alone then takes one slice: dy is transformed once). 0: not even one
// image with one channel fits.
static int weight_chunk_images(ConvGeom g, int rows, const Workspace *ws) {
    WeightForm wf = weight_form(g);
    size_t room = ws->col_floats < WS_THREAD_AREA_FLOATS ? ws->col_floats : WS_THREAD_AREA_FLOATS;
    int cs = g.channels < WEIGHT_SLICE ? g.channels : WEIGHT_SLICE;
    int whole = weight_m_floats(wf, rows, g.channels) <= ws->tmp_floats;
    int nb = WEIGHT_TILES / wf.tl.tiles > 1 ? WEIGHT_TILES / wf.tl.tiles : 1;
    while (nb > 1 && (weight_task_floats(wf, rows, nb, cs, 0) > room ||
                      (whole && weight_task_floats(wf, rows, nb, g.channels, 1) > ws->col_floats)))
        nb--;
    return weight_task_floats(wf, rows, nb, 1, 0) <= room ? nb : 0;
}

int convw_weight_fits(ConvGeom g, int c_small, const Workspace *ws) {
    return (is_k4s2p1(g) || is_k3s1p1(g)) && g.channels >= 4 && c_small >= 4 &&
           weight_chunk_images(g, c_small, ws) >= 1;
}

// dy's transform of four tiles of one tile row: d the first one's top-left (its two rows wy floats
// apart), u its column of U_00 (U_ij is (k i + j) lu floats on, k = 3 or 4). Kernel 4: (g0, g0 + g1,
// g1) along both axes; kernel 3: A's (g0, g0 + g1, g0 - g1, -g1).
static inline void transform_dy(float *u, size_t lu, const float *d, int wy, int points) {
#ifdef __wasm_simd128__
    v128_t r[2][4];
    for (int a = 0; a < 2; a++) {
        v128_t v0 = wasm_v128_load(d + (size_t)a * wy), v1 = wasm_v128_load(d + (size_t)a * wy + 4);
        v128_t g0 = wasm_i32x4_shuffle(v0, v1, 0, 2, 4, 6), g1 = wasm_i32x4_shuffle(v0, v1, 1, 3, 5, 7);
        r[a][0] = g0;
        r[a][1] = wasm_f32x4_add(g0, g1);
        if (points == 9) {
            r[a][2] = g1;
        } else {
            r[a][2] = wasm_f32x4_sub(g0, g1);
            r[a][3] = wasm_f32x4_neg(g1);
        }
    }
    if (points == 9) {
        for (int j = 0; j < 3; j++) {
            wasm_v128_store(u + j * lu, r[0][j]);
            wasm_v128_store(u + (3 + j) * lu, wasm_f32x4_add(r[0][j], r[1][j]));
            wasm_v128_store(u + (6 + j) * lu, r[1][j]);
        }
    } else {
        for (int j = 0; j < 4; j++) {
            wasm_v128_store(u + j * lu, r[0][j]);
            wasm_v128_store(u + (4 + j) * lu, wasm_f32x4_add(r[0][j], r[1][j]));
            wasm_v128_store(u + (8 + j) * lu, wasm_f32x4_sub(r[0][j], r[1][j]));
            wasm_v128_store(u + (12 + j) * lu, wasm_f32x4_neg(r[1][j]));
        }
    }
#else
    for (int l = 0; l < 4; l++) {
        float r[2][4];
        for (int a = 0; a < 2; a++) {
            const float *row = d + (size_t)a * wy + 2 * l;
            r[a][0] = row[0];
            r[a][1] = row[0] + row[1];
            r[a][2] = points == 9 ? row[1] : row[0] - row[1];
            r[a][3] = -row[1];
        }
        if (points == 9) {
            for (int j = 0; j < 3; j++) {
                u[j * lu + l] = r[0][j];
                u[(3 + j) * lu + l] = r[0][j] + r[1][j];
                u[(6 + j) * lu + l] = r[1][j];
            }
        } else {
            for (int j = 0; j < 4; j++) {
                u[j * lu + l] = r[0][j];
                u[(4 + j) * lu + l] = r[0][j] + r[1][j];
                u[(8 + j) * lu + l] = r[0][j] - r[1][j];
                u[(12 + j) * lu + l] = -r[1][j];
            }
        }
    }
#endif
}

// M's output transform added to dw's taps: for kernel 4, (m0 + m1, m1 + m2) along both axes gives
// the 2x2 taps of each phase; for kernel 3, G^T's rows (m0 + (m1 + m2) / 2, (m1 - m2) / 2, (m1 + m2)
// / 2 + m3) the 3x3 taps.
static void add_weight_taps(const WeightPass *f, const float *m, int c0, int cs) {
    int R = f->rows, C = f->g.channels, N = f->form.phases * cs;
    size_t one = (size_t)R * N;
    for (int r = 0; r < R; r++)
        for (int ph = 0; ph < f->form.phases; ph++)
            for (int c = 0; c < cs; c++) {
                const float *q = m + (size_t)r * N + ph * cs + c;
                if (f->form.points == 9) {
                    float a0 = q[0] + q[3 * one], a1 = q[one] + q[4 * one], a2 = q[2 * one] + q[5 * one];
                    float b0 = q[3 * one] + q[6 * one], b1 = q[4 * one] + q[7 * one], b2 = q[5 * one] + q[8 * one];
                    float *d = f->dw + ((size_t)r * C + c0 + c) * 16 + (ph >> 1) * 4 + (ph & 1);
                    d[0] += a0 + a1;
                    d[2] += a1 + a2;
                    d[8] += b0 + b1;
                    d[10] += b1 + b2;
                    continue;
                }
                float t[4][3];
                for (int i = 0; i < 4; i++) {
                    float m0 = q[(4 * i) * one], m1 = q[(4 * i + 1) * one], m2 = q[(4 * i + 2) * one], m3 = q[(4 * i + 3) * one];
                    t[i][0] = m0 + 0.5f * (m1 + m2);
                    t[i][1] = 0.5f * (m1 - m2);
                    t[i][2] = 0.5f * (m1 + m2) + m3;
                }
                float *d = f->dw + ((size_t)r * C + c0 + c) * 9;
                for (int j = 0; j < 3; j++) {
                    d[j] += t[0][j] + 0.5f * (t[1][j] + t[2][j]);
                    d[3 + j] += 0.5f * (t[1][j] - t[2][j]);
                    d[6 + j] += 0.5f * (t[1][j] + t[2][j]) + t[3][j];
                }
            }
}

// dw's columns c0 .. c0 + cs - 1 (a task) through every chunk of images, then M's output transform
// added to their taps.
static void weight_slice_task(void *ctx, int task, int thread) {
    const WeightPass *f = ctx;
    ConvGeom g = f->g;
    WeightForm wf = f->form;
    Tiles tl = wf.tl;
    int C = g.channels, R = f->rows, wy = dy_plane_width(tl), P = g.h_out * g.w_out, HW = g.h * g.w;
    int c0 = pool_piece_start(task, f->slices, C), cs = pool_piece_start(task + 1, f->slices, C) - c0;
    int N = wf.phases * cs, pts = wf.points;
    size_t lv = (size_t)f->nb * tl.tiles + 4;
    ThreadScratch s = workspace_thread(f->ws, thread);
    float *plane = s.area, *dy_plane = plane + tl.plane, *u = dy_plane + dy_plane_floats(tl);
    float *v = u + pts * (size_t)R * lv, *m = v + pts * (size_t)N * lv;
    if (thread == 0 && weight_m_floats(wf, R, cs) <= f->ws->tmp_floats) m = f->ws->tmp;
    memset(plane, 0, ((size_t)tl.plane + dy_plane_floats(tl)) * sizeof(float));
    for (int b0 = 0; b0 < f->batch; b0 += f->nb) {
        int nb = f->batch - b0 < f->nb ? f->batch - b0 : f->nb;
        size_t n = (size_t)nb * tl.tiles;
        // In memory order: what a row's last vector spills past its tiles is written again after.
        for (int r = 0; r < R; r++)
            for (int i = 0; i < nb; i++) {
                copy_rows(dy_plane, wy, f->dy + ((size_t)(b0 + i) * R + r) * P, g.h_out, g.w_out);
                float *ur = u + (size_t)r * lv + (size_t)i * tl.tiles;
                for (int ty = 0; ty < tl.th; ty++)
                    for (int tx = 0; tx < tl.tw; tx += 4)
                        transform_dy(ur + ty * tl.tw + tx, (size_t)R * lv, dy_plane + (size_t)(2 * ty) * wy + 2 * tx, wy,
                                     pts);
            }
        for (int i = 0; i < nb; i++)
            for (int c = 0; c < cs; c++) {
                copy_rows(plane + tl.wp + 1, tl.wp, f->x + ((size_t)(b0 + i) * C + c0 + c) * HW, g.h, g.w);
                for (int ph = 0; ph < wf.phases; ph++)
                    transform_conv_plane(v + (size_t)(ph * cs + c) * lv + (size_t)i * tl.tiles, (size_t)N * lv, plane,
                                         tl, pts, ph);
            }
        for (int ij = 0; ij < pts; ij++)
            gemm(m + (size_t)ij * R * N, N, matview(u + (size_t)ij * R * lv, (int)lv, 1),
                 matview(v + (size_t)ij * N * lv, 1, (int)lv), R, N, (int)n, b0 > 0, s.gemm);
    }
    add_weight_taps(f, m, c0, cs);
}

void convw_weight_grad(float *dw, const float *dy, const float *x, int c_small, int batch, ConvGeom g,
                       const Workspace *ws) {
    WeightPass f = {ws, dw, dy, x, weight_form(g), g, c_small, batch, weight_chunk_images(g, c_small, ws), 1};
    // About four slices a thread, each fitting a helper's area; on one thread (or where even one
    // channel's slice does not fit a helper) the fewest that fit the column buffer.
    Pool *pool = workspace_pool_for(ws, weight_task_floats(f.form, c_small, f.nb, 1, 0));
    int threads = pool_threads(pool);
    size_t room = pool ? WS_THREAD_AREA_FLOATS : ws->col_floats;
    f.slices = threads > 1 ? WEIGHT_SLICES_PER_THREAD * threads : 1;
    if (f.slices > g.channels) f.slices = g.channels;
    for (;; f.slices++) {
        int cs = (g.channels + f.slices - 1) / f.slices;
        int m_in_tmp = !pool && weight_m_floats(f.form, c_small, cs) <= ws->tmp_floats;
        if (f.slices >= g.channels || weight_task_floats(f.form, c_small, f.nb, cs, m_in_tmp) <= room) break;
    }
    pool_run(pool, f.slices, weight_slice_task, &f);
}
