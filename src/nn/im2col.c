// im2col / col2im for square kernels with stride and zero padding. The inner x loop is split so the
// common in-bounds stretch is a plain strided copy without per-pixel bounds checks.
#include "im2col.h"

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
                    for (int x = x_lo; x < x_hi; x++) dst[x] = src[x * g.stride];
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
                    for (int x = x_lo; x < x_hi; x++) dst[x * g.stride] += src[x];
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
