// Convolution passes as GEMMs over implicit operands: the operands' rows and columns are read from a
// zero-padded copy of the images through offset tables, with no column matrix and no col2im.
// The forward passes and input gradients map each image to its own output: a task takes a group of
// images through the whole pass (its own padded copy, its GEMMs, its output), so a pass is one job of
// the pool, and a thread's copies stay in its own core's cache. The weight gradient sums over the
// images: a task takes a slice of the input's channels (of the weights' columns) through every image.
#include "conv_gemm.h"
#include "gemm.h"

enum {
    PAD_CHUNK_FLOATS = 1 << 16,
    GROUP_COLUMNS = 256,           // output pixels a task's GEMMs want at least (32 micro-tiles wide)
    SLICES_PER_THREAD = 4,         // tasks a thread of the weight gradient (as gemm_ex_par's tiles)
};

static PaddedGeom big_padded(ConvGeom g) {
    return padded_geom(g.channels, g.h, g.w, g.pad, g.k, g.stride, g.h_out, g.w_out);
}

// Images per chunk of the weight gradient: the padded copy fits the column buffer, and `fixed` +
// `per_image_ints` * images table entries fit the index buffer. At least 0 (then the pass does not fit).
static int chunk_images(const Workspace *ws, PaddedGeom p, size_t fixed, size_t per_image_ints) {
    // The padded copy is read panel by panel, each panel touching every plane: kept to 256 KiB it
    // stays in L2 beside the packed block (1 MiB chunks measured 10-25% slower).
    size_t room = ws->col_floats < PAD_CHUNK_FLOATS ? ws->col_floats : PAD_CHUNK_FLOATS;
    size_t by_col = room > 16 ? (room - 16) / p.imgp : 0;
    size_t by_idx = ws->idx_ints > fixed ? (ws->idx_ints - fixed) / per_image_ints : 0;
    return (int)(by_col < by_idx ? by_col : by_idx);
}

// How an image-parallel pass is cut: `tasks` groups of at most `group` images, their sizes
// differing by one at most.
typedef struct {
    Pool *pool; // NULL: the leader runs every task in the column buffer (a group is too big for a helper's area)
    int group, tasks;
} Groups;

// A task's group: its images b0 .. b0 + nb - 1 of src (src_image floats apart), copied into the
// area of the thread that took it.
typedef struct {
    int b0, nb;
    ThreadScratch s;
} Group;

static Group take_group(const Workspace *ws, int thread, int task, int tasks, int batch, const float *src,
                        size_t src_image, PaddedGeom p) {
    Group gr = {pool_piece_start(task, tasks, batch), 0, workspace_thread(ws, thread)};
    gr.nb = pool_piece_start(task + 1, tasks, batch) - gr.b0;
    pad_image_slices(gr.s.area, src + (size_t)gr.b0 * src_image, src_image, gr.nb, p);
    return gr;
}

// A group needs fixed + group * per_image floats of area and fixed_ints + group * per_image_ints
// table entries. Enough images for GROUP_COLUMNS output pixels (P an image): a 7x7 image alone
// would fill its last micro-tile with one column of eight. group = 0 when not even one image fits.
static Groups image_groups(const Workspace *ws, size_t fixed, size_t per_image, size_t fixed_ints,
                           size_t per_image_ints, int P, int batch) {
    Groups gr = {workspace_pool_for(ws, fixed + per_image), (GROUP_COLUMNS + P - 1) / P, 0};
    size_t room = gr.pool ? WS_THREAD_AREA_FLOATS : ws->col_floats;
    if (gr.group > batch) gr.group = batch;
    while (gr.group > 0 && (fixed + gr.group * per_image > room || fixed_ints + gr.group * per_image_ints > ws->idx_ints))
        gr.group--;
    if (gr.group > 0) {
        gr.tasks = pool_even_tasks(batch, gr.group, pool_threads(gr.pool));
        gr.group = (batch + gr.tasks - 1) / gr.tasks;
    }
    return gr;
}

static Groups forward_groups(const Workspace *ws, ConvGeom g, int batch) {
    PaddedGeom p = big_padded(g);
    size_t P = (size_t)g.h_out * g.w_out, K = (size_t)g.channels * g.k * g.k;
    return image_groups(ws, padded_floats(p, 0), p.imgp, 2 * K, 2 * P, (int)P, batch);
}

int convg_fits(ConvGeom g, const Workspace *ws) {
    size_t P = (size_t)g.h_out * g.w_out, K = (size_t)g.channels * g.k * g.k;
    return chunk_images(ws, big_padded(g), K, 2 * P) >= 1 && forward_groups(ws, g, 1).group >= 1;
}

// k_off[(c, ky, kx)]: where a window element sits relative to the window's top-left pixel.
static void window_offsets(int *k_off, PaddedGeom p, int k) {
    for (int c = 0; c < p.channels; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) *k_off++ = c * p.chp + ky * p.wp + kx;
}

// For output pixel n = (image, oy, ox) of nb images: n_off, its window's top-left pixel in the
// padded copy; s_off, its place in an NCHW tensor of c channels on the small grid.
static void pixel_offsets(int *n_off, int *s_off, PaddedGeom p, int nb, int h_out, int w_out, int stride, int c) {
    for (int i = 0; i < nb; i++)
        for (int y = 0; y < h_out; y++)
            for (int x = 0; x < w_out; x++) {
                *n_off++ = i * p.imgp + y * stride * p.wp + x * stride;
                *s_off++ = (i * c * h_out + y) * w_out + x;
            }
}

typedef struct {
    const Workspace *ws;
    float *y;
    const float *x;
    MatView a;
    const int *k_off, *n_off, *s_off;
    PaddedGeom p;
    int c_small, K, P, batch, tasks;
} ForwardGroups;

static void forward_group(void *ctx, int task, int thread) {
    const ForwardGroups *f = ctx;
    Group gr = take_group(f->ws, thread, task, f->tasks, f->batch, f->x, (size_t)f->p.channels * f->p.h * f->p.w, f->p);
    // y (c_small, nb*P) += A (c_small, K) * col (K, nb*P), col(q, n) = padded[k_off[q] + n_off[n]]
    MatView col = {gr.s.area, 0, 0, f->k_off, f->n_off, 0};
    gemm_ex(f->y + (size_t)gr.b0 * f->c_small * f->P, f->P, f->s_off, f->a, col, f->c_small, gr.nb * f->P, f->K, 1,
            gr.s.gemm);
}

// y += A conv x, A (c_small, channels*k*k) either w itself or, when flipped, w stored
// (channels, c_small, k, k) read with its taps reversed (see convg_flipped_forward).
static void forward_impl(float *y, const float *x, const float *w, int flipped, int c_small, int batch, ConvGeom g,
                         const Workspace *ws) {
    PaddedGeom p = big_padded(g);
    int P = g.h_out * g.w_out, kk = g.k * g.k, K = g.channels * kk;
    Groups gr = forward_groups(ws, g, batch);
    int *k_off = ws->idx, *a_off = k_off + K, *n_off = a_off + K, *s_off = n_off + (size_t)gr.group * P;
    window_offsets(k_off, p, g.k);
    pixel_offsets(n_off, s_off, p, gr.group, g.h_out, g.w_out, g.stride, c_small);
    MatView a = matview(w, K, 1);
    if (flipped) {
        for (int c = 0; c < g.channels; c++)
            for (int t = 0; t < kk; t++) a_off[c * kk + t] = c * c_small * kk + (kk - 1 - t);
        a = (MatView){w, kk, 0, NULL, a_off, 0};
    }
    // The weights are packed into the micro-kernel's panels once, not once per group and column block.
    if (gemm_packed_a_floats(c_small, K) <= ws->tmp_floats) {
        gemm_pack_a(ws->tmp, a, c_small, K);
        a = matview_packed(ws->tmp);
    }
    ForwardGroups f = {ws, y, x, a, k_off, n_off, s_off, p, c_small, K, P, batch, gr.tasks};
    pool_run(gr.pool, gr.tasks, forward_group, &f);
}

void convg_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g, const Workspace *ws) {
    forward_impl(y, x, w, 0, c_small, batch, g, ws);
}

void convg_flipped_forward(float *y, const float *x, const float *w, int c_small, int batch, ConvGeom g,
                           const Workspace *ws) {
    forward_impl(y, x, w, 1, c_small, batch, g, ws);
}

// The weight gradient cut by x's channels: a task takes a slice of them (a slice of dw's columns)
// through every chunk of images, copying only its own planes; where the channels are too few to go
// round (conv1 has one), also by dw's rows, whole micro-tiles of them. The chunks, so the order of
// each weight's sum, do not depend on the cut.
typedef struct {
    const Workspace *ws;
    float *dw;
    const float *dy, *x;
    const int *k_off, *n_off, *s_off; // k_off: a slice's window offsets
    PaddedGeom p;                     // the padded copy of a slice (of the widest one)
    ConvGeom g;
    int c_small, batch, nb_max, slices, parts; // task = slice * parts + part (of dw's rows)
} WeightSlices;

static void weight_slice(void *ctx, int task, int thread) {
    const WeightSlices *f = ctx;
    ThreadScratch s = workspace_thread(f->ws, thread);
    ConvGeom g = f->g;
    int slice = task / f->parts, part = task % f->parts, units = (f->c_small + 3) / 4;
    int c0 = pool_piece_start(slice, f->slices, g.channels), c1 = pool_piece_start(slice + 1, f->slices, g.channels);
    int r0 = pool_piece_start(part, f->parts, units) * 4, r1 = pool_piece_start(part + 1, f->parts, units) * 4;
    if (r1 > f->c_small) r1 = f->c_small;
    int P = g.h_out * g.w_out, kk = g.k * g.k;
    size_t plane = (size_t)g.h * g.w, x_img = g.channels * plane, y_img = (size_t)f->c_small * P;
    PaddedGeom p = f->p;
    p.channels = c1 - c0;
    for (int b0 = 0; b0 < f->batch; b0 += f->nb_max) {
        int nb = f->batch - b0 < f->nb_max ? f->batch - b0 : f->nb_max;
        pad_image_slices(s.area, f->x + b0 * x_img + c0 * plane, x_img, nb, p);
        // dw[rows, slice] (rows, slice*k*k) += dy[rows] (rows, nb*P) * col^T (nb*P, slice*k*k)
        MatView dyv = {f->dy + b0 * y_img + (size_t)r0 * P, P, 0, NULL, f->s_off, 0};
        MatView colt = {s.area, 0, 0, f->n_off, f->k_off, 0};
        gemm_ex(f->dw + (size_t)r0 * g.channels * kk + (size_t)c0 * kk, g.channels * kk, NULL, dyv, colt, r1 - r0,
                (c1 - c0) * kk, nb * P, 1, s.gemm);
    }
}

void convg_weight_grad(float *dw, const float *dy, const float *x, int c_small, int batch, ConvGeom g,
                       const Workspace *ws) {
    int P = g.h_out * g.w_out, K = g.channels * g.k * g.k;
    int nb_max = chunk_images(ws, big_padded(g), K, 2 * (size_t)P);
    if (nb_max > batch) nb_max = batch;
    // About four slices a thread, a slow core taking fewer; where the channels are fewer than the
    // threads, a part of the rows a thread (every part packs all of its slice's columns: conv1's 16
    // taps of every pixel, so eight parts ran slower than one). One task, all channels and rows, on
    // one thread or where a slice of a chunk does not fit a helper's area.
    int threads = pool_threads(ws->pool), slices = SLICES_PER_THREAD * threads;
    if (slices > g.channels) slices = g.channels;
    int parts = (threads + slices - 1) / slices, units = (c_small + 3) / 4;
    if (parts > units) parts = units;
    PaddedGeom p = padded_geom((g.channels + slices - 1) / slices, g.h, g.w, g.pad, g.k, g.stride, g.h_out, g.w_out);
    Pool *pool = workspace_pool_for(ws, padded_floats(p, nb_max));
    if (!pool) {
        slices = parts = 1;
        p = big_padded(g);
    }
    int *k_off = ws->idx, *n_off = k_off + K, *s_off = n_off + (size_t)nb_max * P;
    window_offsets(k_off, p, g.k);
    pixel_offsets(n_off, s_off, p, nb_max, g.h_out, g.w_out, g.stride, c_small);
    WeightSlices f = {ws, dw, dy, x, k_off, n_off, s_off, p, g, c_small, batch, nb_max, slices, parts};
    pool_run(pool, slices * parts, weight_slice, &f);
}
