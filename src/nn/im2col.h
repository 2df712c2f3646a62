// Unfolding of image patches into matrix columns (im2col) and its adjoint (col2im), plus the
// workspace the convolution layers share. Geometry only: no arithmetic beyond copies and adds.
#ifndef LL_IM2COL_H
#define LL_IM2COL_H

#include <stddef.h>

#include "pool.h"

// A convolution's sizes. For Conv2d, "in" is the large grid; for ConvTranspose2d, "in" is the small
// grid and the layer runs the matching convolution backwards.
typedef struct {
    int c_in, c_out;
    int h_in, w_in, h_out, w_out;
    int k, stride, pad;
} ConvShape;

// The geometry of a convolution from a big grid (channels, h, w) onto a small grid (h_out, w_out).
typedef struct {
    int channels, h, w, h_out, w_out, k, stride, pad;
} ConvGeom;

// The workspace sizes the model and the exported single layers use (floats). Columns: 256 Ki floats
// hold two images of the widest layer (deconv2: 512 x 196 per image), so every GEMM is still hundreds
// of columns wide, and 1 MiB of columns stays in L2. Bigger buys no speed and would push training
// at batch 32 past 64 MiB of wasm memory.
#define WS_COL_FLOATS ((size_t)1 << 18)
// The gathered copies, the Winograd path's transformed weights (36 (64, 64) matrices for deconv1)
// and the leader's M of its weight gradients (9 (64, 256) for deconv1).
#define WS_TMP_FLOATS ((size_t)144 << 10)

#define WS_IDX_INTS ((size_t)1 << 16)
// A helper thread's area for the images of its tasks (padded copies, Winograd's transforms), beside its GEMM
// scratch in the pool: a Winograd group of two of the model's largest images fits (deconv2: 97 Ki
// floats for two).
#define WS_THREAD_AREA_FLOATS ((size_t)104 << 10)

// Scratch for the layers: unfolded columns (or the zero-padded copy the fast paths read their
// implicit columns from), a gathered copy of a layer's channel-major output, the GEMM packing
// buffer and the offset tables of the implicit operands. Owned by the model, sized once.
typedef struct {
    float *col;  size_t col_floats;
    float *tmp;  size_t tmp_floats;
    float *gemm; // gemm_scratch_floats()
    int *idx;    size_t idx_ints;
    Pool *pool;    // threads that share the GEMMs (NULL: the caller's thread alone)
    int reference; // nonzero: every layer takes its plain im2col + GEMM + col2im path (tests compare)
} Workspace;

// Floats of one block that workspace_carve() splits into a Workspace (16-byte aligned pieces).
size_t workspace_floats(void);
void workspace_carve(Workspace *ws, float *memory);

// What a task works in on thread `thread` of ws's pool: a GEMM scratch and an area for its images.
// The leader's are the workspace's own (the area is the column buffer, col_floats); a helper's sit
// in its pool scratch (WS_THREAD_AREA_FLOATS after the GEMM's part: the pool must be made with
// workspace_helper_floats()).
typedef struct {
    float *gemm, *area;
} ThreadScratch;
ThreadScratch workspace_thread(const Workspace *ws, int thread);
size_t workspace_helper_floats(void);
// The pool to share a pass whose tasks each need area_floats of area: ws's, where it has helpers and
// their areas hold that much; else NULL (the leader alone, in the column buffer).
Pool *workspace_pool_for(const Workspace *ws, size_t area_floats);

// A batch of images copied into zero-padded planes, so the implicit im2col reads without bounds
// checks. Plane and image pitches are padded off multiples of 32 floats: planes that start on the
// same cache sets evict each other while a panel gathers from all of them.
typedef struct {
    int channels, h, w, pad; // the source images and the zeros above / left of them
    int hp, wp;              // padded plane
    int chp, imgp;           // floats between planes, between images
} PaddedGeom;

// The padded grid a convolution with geometry g reads: every window of every output fits.
PaddedGeom padded_geom(int channels, int h, int w, int pad, int k, int stride, int h_out, int w_out);
// Floats pad_images() writes for nb images, including the slack vector paths may read past the end.
size_t padded_floats(PaddedGeom p, int nb);
void pad_images(Pool *pool, float *dst, const float *src, int nb, PaddedGeom p); // an image a task
// The same on the caller's thread, for images src_image floats apart of which the first p.channels
// planes are copied (all of them, or a slice of the channels).
void pad_image_slices(float *dst, const float *src, size_t src_image, int nb, PaddedGeom p);
// h rows of w floats (src, contiguous) into rows dst_stride apart: short rows (7 to 28 floats), copied
// in whole vectors without a library call per row.
void copy_rows(float *dst, int dst_stride, const float *src, int h, int w);
// dst[x*stride] += src[x] for x in [0, n): one add a float, the f32x4 path and the plain loop alike.
void scatter_add_row(float *dst, const float *src, int n, int stride);

// col (channels*k*k rows, ldcol stride) gets one image's patches in columns 0 .. h_out*w_out-1;
// row index (c*k + ky)*k + kx matches PyTorch's weight layout.
void im2col(float *col, int ldcol, const float *img, ConvGeom g);
// The adjoint: adds each column entry back onto the pixel it was read from.
void col2im_add(float *img, const float *col, int ldcol, ConvGeom g);

// How many images of per_image_col columns-floats and per_image_tmp floats fit the workspace at once.
int images_per_chunk(const Workspace *ws, size_t per_image_col, size_t per_image_tmp, int remaining);

// A convolution's bias gradient: db[c] += the sum of dout over every image's plane c (batch, channels, plane).
void bias_grad_add(float *db, const float *dout, int batch, int channels, int plane);

#endif
