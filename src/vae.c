// The VAE: parameter table, activation buffers, forward, backward, loss and Adam.
// Shapes: B = images in the batch; every activation is stored per image, NCHW.
#include "vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#include "nn/activations.h"
#include "nn/conv2d.h"
#include "nn/conv_transpose2d.h"
#include "nn/gemm.h"
#include "nn/linear.h"
#include "rng.h"
#include "status.h"

// --- parameter table -------------------------------------------------------------------------
// fan_in as PyTorch computes it: Conv2d c_in*k*k; ConvTranspose2d weight.size(1)*k*k = c_out*k*k.
static const TensorSpec TENSORS[VAE_NUM_TENSORS] = {
    {"conv1.weight", 4, {32, 1, 4, 4}, 16},          {"conv1.bias", 1, {32}, 16},
    {"conv2.weight", 4, {64, 32, 4, 4}, 512},        {"conv2.bias", 1, {64}, 512},
    {"conv3.weight", 4, {64, 64, 3, 3}, 576},        {"conv3.bias", 1, {64}, 576},
    {"fc_mu.0.weight", 2, {256, 3136}, 3136},        {"fc_mu.0.bias", 1, {256}, 3136},
    {"fc_mu.2.weight", 2, {128, 256}, 256},          {"fc_mu.2.bias", 1, {128}, 256},
    {"fc_mu.4.weight", 2, {2, 128}, 128},            {"fc_mu.4.bias", 1, {2}, 128},
    {"fc_logvar.0.weight", 2, {256, 3136}, 3136},    {"fc_logvar.0.bias", 1, {256}, 3136},
    {"fc_logvar.2.weight", 2, {128, 256}, 256},      {"fc_logvar.2.bias", 1, {128}, 256},
    {"fc_logvar.4.weight", 2, {2, 128}, 128},        {"fc_logvar.4.bias", 1, {2}, 128},
    {"fc_dec.0.weight", 2, {128, 2}, 2},             {"fc_dec.0.bias", 1, {128}, 2},
    {"fc_dec.2.weight", 2, {256, 128}, 128},         {"fc_dec.2.bias", 1, {256}, 128},
    {"fc_dec.4.weight", 2, {3136, 256}, 256},        {"fc_dec.4.bias", 1, {3136}, 256},
    {"deconv1.weight", 4, {64, 64, 4, 4}, 1024},     {"deconv1.bias", 1, {64}, 1024},
    {"deconv2.weight", 4, {64, 32, 4, 4}, 512},      {"deconv2.bias", 1, {32}, 512},
    {"deconv3.weight", 4, {32, 1, 3, 3}, 9},         {"deconv3.bias", 1, {1}, 9},
};

static const ConvShape CONV1 = {1, 32, 28, 28, 14, 14, 4, 2, 1};
static const ConvShape CONV2 = {32, 64, 14, 14, 7, 7, 4, 2, 1};
static const ConvShape CONV3 = {64, 64, 7, 7, 7, 7, 3, 1, 1};
static const ConvShape DECONV1 = {64, 64, 7, 7, 14, 14, 4, 2, 1};
static const ConvShape DECONV2 = {64, 32, 14, 14, 28, 28, 4, 2, 1};
static const ConvShape DECONV3 = {32, 1, 28, 28, 28, 28, 3, 1, 1};

static size_t tensor_size(const TensorSpec *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

const TensorSpec *vae_tensor(int i) { return i >= 0 && i < VAE_NUM_TENSORS ? &TENSORS[i] : NULL; }

size_t vae_num_params(void) {
    size_t n = 0;
    for (int i = 0; i < VAE_NUM_TENSORS; i++) n += tensor_size(&TENSORS[i]);
    return n;
}

// VaeParams is 30 pointers in table order, so carving is one loop.
_Static_assert(sizeof(VaeParams) == VAE_NUM_TENSORS * sizeof(float *), "VaeParams matches the table");
static void carve_params(VaeParams *p, float *memory) {
    float **slots = (float **)p;
    for (int i = 0; i < VAE_NUM_TENSORS; i++) {
        slots[i] = memory;
        memory += tensor_size(&TENSORS[i]);
    }
}

// --- activations -----------------------------------------------------------------------------
typedef struct {
    float *input;              // (B, 784)
    float *h1;                 // (B, 32, 14, 14)  relu(conv1)
    float *h2;                 // (B, 64, 7, 7)    relu(conv2)
    float *h3;                 // (B, 64, 7, 7) = (B, 3136) relu(conv3)
    float *mu1, *mu2, *mu;     // (B, 256) (B, 128) (B, 2)
    float *lv1, *lv2, *logvar; // (B, 256) (B, 128) (B, 2)
    float *eps, *z;            // (B, 2)
    float *d1, *d2, *d3;       // (B, 128) (B, 256) (B, 3136) = (B, 64, 7, 7)
    float *u1;                 // (B, 64, 14, 14)  relu(deconv1)
    float *u2;                 // (B, 32, 28, 28)  relu(deconv2)
    float *logits;             // (B, 784)         deconv3, before the sigmoid
} VaeActs;

#define NUM_ACTS 18
_Static_assert(sizeof(VaeActs) == NUM_ACTS * sizeof(float *), "VaeActs is NUM_ACTS pointers");
static const size_t ACT_SIZES[NUM_ACTS] = {
    784, 6272, 3136, 3136, 256, 128, 2, 256, 128, 2, 2, 2, 128, 256, 3136, 12544, 25088, 784,
};

static size_t act_floats_per_image(void) {
    size_t n = 0;
    for (int i = 0; i < NUM_ACTS; i++) n += ACT_SIZES[i];
    return n;
}

static void carve_acts(VaeActs *a, float *memory, int batch) {
    float **slots = (float **)a;
    for (int i = 0; i < NUM_ACTS; i++) {
        slots[i] = memory;
        memory += ACT_SIZES[i] * (size_t)batch;
    }
}

// --- the model handle ------------------------------------------------------------------------
struct Vae {
    uint64_t seed;
    VaeHyper hyper;
    long step;                  // Adam steps taken; also the noise counter
    size_t num_params;
    float *params_memory, *grads_memory, *m_memory, *v_memory;
    VaeParams params, grads;
    int act_capacity;           // images the activation buffers hold
    float *acts_memory, *dacts_memory;
    double *image_bce;          // (act_capacity) each image's BCE, summed in image order
    VaeActs acts, dacts;
    Workspace ws;
    float *ws_memory;
};

VaeHyper vae_default_hyper(void) { return (VaeHyper){3e-4f, 0.55f, 0.9f, 0.999f, 1e-8f}; }

static float *alloc_floats(size_t n) {
    // 16-byte alignment for v128 loads and stores; aligned_alloc wants a multiple of it.
    size_t bytes = (n * sizeof(float) + 15) & ~(size_t)15;
    return aligned_alloc(16, bytes ? bytes : 16);
}

static void init_params(Vae *m) {
    float *p = m->params_memory;
    size_t offset = 0;
    for (int i = 0; i < VAE_NUM_TENSORS; i++) {
        // Kaiming-uniform with a = sqrt(5) and PyTorch's bias rule both reduce to U(-1/sqrt(fan_in), +).
        double bound = 1.0 / sqrt((double)TENSORS[i].fan_in);
        size_t n = tensor_size(&TENSORS[i]);
        for (size_t j = 0; j < n; j++)
            p[offset + j] = (float)((2.0 * rng_uniform(m->seed, RNG_INIT, (uint64_t)i, j) - 1.0) * bound);
        offset += n;
    }
}

Vae *vae_create(uint64_t seed) {
    Vae *m = calloc(1, sizeof(Vae));
    if (!m) return NULL;
    m->seed = seed;
    m->hyper = vae_default_hyper();
    m->num_params = vae_num_params();
    m->params_memory = alloc_floats(m->num_params);
    m->grads_memory = alloc_floats(m->num_params);
    m->m_memory = alloc_floats(m->num_params);
    m->v_memory = alloc_floats(m->num_params);
    m->ws_memory = alloc_floats(workspace_floats());
    if (!m->params_memory || !m->grads_memory || !m->m_memory || !m->v_memory || !m->ws_memory) {
        vae_free(m);
        return NULL;
    }
    workspace_carve(&m->ws, m->ws_memory);
    carve_params(&m->params, m->params_memory);
    carve_params(&m->grads, m->grads_memory);
    init_params(m);
    memset(m->grads_memory, 0, m->num_params * sizeof(float));
    vae_reset_optimizer(m);
    return m;
}

void vae_free(Vae *m) {
    if (!m) return;
    free(m->params_memory);
    free(m->grads_memory);
    free(m->m_memory);
    free(m->v_memory);
    free(m->acts_memory);
    free(m->dacts_memory);
    free(m->image_bce);
    free(m->ws_memory);
    free(m);
}

float *vae_params(Vae *m) { return m->params_memory; }
float *vae_grads(Vae *m) { return m->grads_memory; }
const VaeParams *vae_param_view(const Vae *m) { return &m->params; }
VaeHyper vae_hyper(const Vae *m) { return m->hyper; }
void vae_set_hyper(Vae *m, VaeHyper h) { m->hyper = h; }
uint64_t vae_seed(const Vae *m) { return m->seed; }
long vae_step_count(const Vae *m) { return m->step; }
float *vae_adam_m(Vae *m) { return m->m_memory; }
float *vae_adam_v(Vae *m) { return m->v_memory; }
void vae_set_step_count(Vae *m, long step) { m->step = step; }

void vae_reset_optimizer(Vae *m) {
    memset(m->m_memory, 0, m->num_params * sizeof(float));
    memset(m->v_memory, 0, m->num_params * sizeof(float));
    m->step = 0;
}

int vae_reserve(Vae *m, int n) {
    if (n <= m->act_capacity) return LL_OK;
    size_t floats = act_floats_per_image() * (size_t)n;
    float *acts = alloc_floats(floats), *dacts = alloc_floats(floats);
    double *image_bce = malloc((size_t)n * sizeof(double));
    if (!acts || !dacts || !image_bce) {
        free(acts);
        free(dacts);
        free(image_bce);
        return LL_ENOMEM; // the old buffers stay valid
    }
    free(m->acts_memory);
    free(m->dacts_memory);
    free(m->image_bce);
    m->acts_memory = acts;
    m->dacts_memory = dacts;
    m->image_bce = image_bce;
    m->act_capacity = n;
    carve_acts(&m->acts, acts, n);
    carve_acts(&m->dacts, dacts, n);
    return LL_OK;
}

// --- elementwise passes, shared by the pool's threads ----------------------------------------
// Spans of ELEMENT_SPAN floats (a multiple of 4: every element takes the same lane of the same loop
// whichever span holds it), so the bits never depend on the number of threads.
enum { ELEMENT_SPAN = 1 << 14 };
typedef struct {
    float *x;
    const float *y;
} Operands;

static void relu_forward_span(void *ctx, size_t i0, size_t i1) {
    const Operands *o = ctx;
    relu_forward(o->x + i0, i1 - i0);
}
static void relu_backward_span(void *ctx, size_t i0, size_t i1) {
    const Operands *o = ctx;
    relu_backward(o->x + i0, o->y + i0, i1 - i0);
}
static void zero_span(void *ctx, size_t i0, size_t i1) {
    const Operands *o = ctx;
    memset(o->x + i0, 0, (i1 - i0) * sizeof(float));
}

static void relu(const Vae *m, float *x, size_t n) {
    pool_for(m->ws.pool, n, ELEMENT_SPAN, relu_forward_span, &(Operands){x, NULL});
}
static void relu_grad(const Vae *m, float *dx, const float *out, size_t n) {
    pool_for(m->ws.pool, n, ELEMENT_SPAN, relu_backward_span, &(Operands){dx, out});
}
static void zero(const Vae *m, float *x, size_t n) { pool_for(m->ws.pool, n, ELEMENT_SPAN, zero_span, &(Operands){x, NULL}); }

// --- forward ---------------------------------------------------------------------------------
static void encoder_forward(Vae *m, int n) {
    const VaeParams *p = &m->params;
    VaeActs *a = &m->acts;
    conv2d_forward(a->h1, a->input, p->conv1_w, p->conv1_b, n, CONV1, &m->ws);
    relu(m, a->h1, (size_t)n * 6272);
    conv2d_forward(a->h2, a->h1, p->conv2_w, p->conv2_b, n, CONV2, &m->ws);
    relu(m, a->h2, (size_t)n * 3136);
    conv2d_forward(a->h3, a->h2, p->conv3_w, p->conv3_b, n, CONV3, &m->ws);
    relu(m, a->h3, (size_t)n * 3136);
    linear_forward(a->mu1, a->h3, p->mu0_w, p->mu0_b, n, 3136, 256, &m->ws);
    relu(m, a->mu1, (size_t)n * 256);
    linear_forward(a->mu2, a->mu1, p->mu2_w, p->mu2_b, n, 256, 128, &m->ws);
    relu(m, a->mu2, (size_t)n * 128);
    linear_forward(a->mu, a->mu2, p->mu4_w, p->mu4_b, n, 128, 2, &m->ws);
    linear_forward(a->lv1, a->h3, p->lv0_w, p->lv0_b, n, 3136, 256, &m->ws);
    relu(m, a->lv1, (size_t)n * 256);
    linear_forward(a->lv2, a->lv1, p->lv2_w, p->lv2_b, n, 256, 128, &m->ws);
    relu(m, a->lv2, (size_t)n * 128);
    linear_forward(a->logvar, a->lv2, p->lv4_w, p->lv4_b, n, 128, 2, &m->ws);
}

// z = mu + exp(logvar / 2) * eps: the reparameterisation trick. eps is drawn from the noise stream
// (counter, image index), or taken from the caller when given (n x 2).
static void sample_latent(Vae *m, int n, const float *given_eps, uint64_t stream, uint64_t counter, long first_index) {
    VaeActs *a = &m->acts;
    for (int i = 0; i < n; i++) {
        if (given_eps) memcpy(&a->eps[2 * i], &given_eps[2 * i], 2 * sizeof(float));
        else rng_normal2(m->seed, stream, counter, (uint64_t)(first_index + i), &a->eps[2 * i]);
        for (int d = 0; d < VAE_LATENT; d++)
            a->z[2 * i + d] = a->mu[2 * i + d] + expf(0.5f * a->logvar[2 * i + d]) * a->eps[2 * i + d];
    }
}

static void decoder_forward(Vae *m, int n) {
    const VaeParams *p = &m->params;
    VaeActs *a = &m->acts;
    linear_forward(a->d1, a->z, p->dec0_w, p->dec0_b, n, 2, 128, &m->ws);
    relu(m, a->d1, (size_t)n * 128);
    linear_forward(a->d2, a->d1, p->dec2_w, p->dec2_b, n, 128, 256, &m->ws);
    relu(m, a->d2, (size_t)n * 256);
    linear_forward(a->d3, a->d2, p->dec4_w, p->dec4_b, n, 256, 3136, &m->ws);
    relu(m, a->d3, (size_t)n * 3136);
    conv_transpose2d_forward(a->u1, a->d3, p->deconv1_w, p->deconv1_b, n, DECONV1, &m->ws);
    relu(m, a->u1, (size_t)n * 12544);
    conv_transpose2d_forward(a->u2, a->u1, p->deconv2_w, p->deconv2_b, n, DECONV2, &m->ws);
    relu(m, a->u2, (size_t)n * 25088);
    conv_transpose2d_forward(a->logits, a->u2, p->deconv3_w, p->deconv3_b, n, DECONV3, &m->ws);
}

// Loss sums of the current activations against the input; dlogits gets scale * dBCE/dlogit if asked.
// Each image's BCE is a task; the images' sums are added in image order, whoever computed them.
typedef struct {
    Vae *m;
    float *dlogits;
    float scale;
} BceImages;

static void bce_image(void *ctx, int i, int thread) {
    (void)thread;
    const BceImages *b = ctx;
    size_t at = (size_t)i * VAE_PIXELS;
    b->m->image_bce[i] = bce_with_logits(b->dlogits ? b->dlogits + at : NULL, b->m->acts.logits + at, b->m->acts.input + at,
                                         VAE_PIXELS, b->scale);
}

static VaeSums loss_sums(Vae *m, int n, float *dlogits, float scale) {
    VaeActs *a = &m->acts;
    VaeSums s = {0, 0};
    pool_run(m->ws.pool, n, bce_image, &(BceImages){m, dlogits, scale});
    for (int i = 0; i < n; i++) s.bce += m->image_bce[i];
    for (int i = 0; i < n * VAE_LATENT; i++) {
        double mu = a->mu[i], lv = a->logvar[i];
        s.kl_raw += mu * mu + exp(lv) - 1.0 - lv;
    }
    return s;
}

// --- backward --------------------------------------------------------------------------------
// factored: the three big linear weights' gradients are left alone (see vae_share_grad). Returns the
// loss sums it starts from.
static VaeSums backward(Vae *m, int n, float scale, int factored) {
    const VaeParams *p = &m->params;
    VaeParams *gp = &m->grads;
    VaeActs *a = &m->acts, *da = &m->dacts;
    float beta = m->hyper.beta;
    // Backward accumulates into activation gradients, so they start at zero (dlogits is set below).
    // Only the n images of this batch: the buffers may hold 256 after an inference call.
    float **slots = (float **)da;
    for (int i = 0; i < NUM_ACTS; i++) zero(m, slots[i], ACT_SIZES[i] * (size_t)n);
    VaeSums sums = loss_sums(m, n, da->logits, scale);

    conv_transpose2d_backward(da->u2, gp->deconv3_w, gp->deconv3_b, da->logits, a->u2, p->deconv3_w, n, DECONV3, &m->ws);
    relu_grad(m, da->u2, a->u2, (size_t)n * 25088);
    conv_transpose2d_backward(da->u1, gp->deconv2_w, gp->deconv2_b, da->u2, a->u1, p->deconv2_w, n, DECONV2, &m->ws);
    relu_grad(m, da->u1, a->u1, (size_t)n * 12544);
    conv_transpose2d_backward(da->d3, gp->deconv1_w, gp->deconv1_b, da->u1, a->d3, p->deconv1_w, n, DECONV1, &m->ws);
    relu_grad(m, da->d3, a->d3, (size_t)n * 3136);
    linear_backward(da->d2, factored ? NULL : gp->dec4_w, gp->dec4_b, da->d3, a->d2, p->dec4_w, n, 256, 3136, &m->ws);
    relu_grad(m, da->d2, a->d2, (size_t)n * 256);
    linear_backward(da->d1, gp->dec2_w, gp->dec2_b, da->d2, a->d1, p->dec2_w, n, 128, 256, &m->ws);
    relu_grad(m, da->d1, a->d1, (size_t)n * 128);
    linear_backward(da->z, gp->dec0_w, gp->dec0_b, da->d1, a->z, p->dec0_w, n, 2, 128, &m->ws);

    // Through z = mu + e^(lv/2) eps, plus beta * d/d(mu, lv) of (mu^2 + e^lv - 1 - lv).
    for (int i = 0; i < n * VAE_LATENT; i++) {
        float sd = expf(0.5f * a->logvar[i]);
        da->mu[i] = da->z[i] + scale * beta * 2.0f * a->mu[i];
        da->logvar[i] = da->z[i] * a->eps[i] * 0.5f * sd + scale * beta * (sd * sd - 1.0f);
    }

    linear_backward(da->mu2, gp->mu4_w, gp->mu4_b, da->mu, a->mu2, p->mu4_w, n, 128, 2, &m->ws);
    relu_grad(m, da->mu2, a->mu2, (size_t)n * 128);
    linear_backward(da->mu1, gp->mu2_w, gp->mu2_b, da->mu2, a->mu1, p->mu2_w, n, 256, 128, &m->ws);
    relu_grad(m, da->mu1, a->mu1, (size_t)n * 256);
    linear_backward(da->h3, factored ? NULL : gp->mu0_w, gp->mu0_b, da->mu1, a->h3, p->mu0_w, n, 3136, 256, &m->ws);
    linear_backward(da->lv2, gp->lv4_w, gp->lv4_b, da->logvar, a->lv2, p->lv4_w, n, 128, 2, &m->ws);
    relu_grad(m, da->lv2, a->lv2, (size_t)n * 128);
    linear_backward(da->lv1, gp->lv2_w, gp->lv2_b, da->lv2, a->lv1, p->lv2_w, n, 256, 128, &m->ws);
    relu_grad(m, da->lv1, a->lv1, (size_t)n * 256);
    linear_backward(da->h3, factored ? NULL : gp->lv0_w, gp->lv0_b, da->lv1, a->h3, p->lv0_w, n, 3136, 256, &m->ws);

    relu_grad(m, da->h3, a->h3, (size_t)n * 3136);
    conv2d_backward(da->h2, gp->conv3_w, gp->conv3_b, da->h3, a->h2, p->conv3_w, n, CONV3, &m->ws);
    relu_grad(m, da->h2, a->h2, (size_t)n * 3136);
    conv2d_backward(da->h1, gp->conv2_w, gp->conv2_b, da->h2, a->h1, p->conv2_w, n, CONV2, &m->ws);
    relu_grad(m, da->h1, a->h1, (size_t)n * 6272);
    conv2d_backward(NULL, gp->conv1_w, gp->conv1_b, da->h1, a->input, p->conv1_w, n, CONV1, &m->ws);
    return sums;
}

// --- training --------------------------------------------------------------------------------
void vae_zero_grad(Vae *m) { zero(m, m->grads_memory, m->num_params); }

static int gradient(Vae *m, const float *images, int n, long first_index, float scale, int factored, VaeSums *sums) {
    int status = vae_reserve(m, n);
    if (status != LL_OK) return status;
    memcpy(m->acts.input, images, (size_t)n * VAE_PIXELS * sizeof(float));
    encoder_forward(m, n);
    sample_latent(m, n, NULL, RNG_TRAIN_NOISE, (uint64_t)m->step, first_index);
    decoder_forward(m, n);
    VaeSums s = backward(m, n, scale, factored);
    if (sums) *sums = s;
    return LL_OK;
}

int vae_accumulate_grad(Vae *m, const float *images, int n, long first_index, float scale, VaeSums *sums) {
    return gradient(m, images, n, first_index, scale, 0, sums);
}

// --- data-parallel shares ----------------------------------------------------------------------
// The three 3136-wide linear weights hold 90% of the parameters, and the gradient of each is the
// product of two thin factors, dW = dout^T (out, B) x in (B, in). Workers exchange these factors
// (VAE_FACTOR_FLOATS an image) instead of 2.4M gradient values, and each multiplies out, over the
// whole batch, the part of those weights it owns. An image's factors, one after the other (so the
// factors of a batch are its shares' factors one after the other):
// h3 (3136) | d mu1 (256) | d lv1 (256) | d2 (256) | d d3 (3136).
typedef struct {
    int tensor, rows, cols;  // the weight (rows = outputs, cols = inputs)
    int dout_at, in_at;      // where its two factors start in an image's factors
} Factored;
static const Factored FACTORED[3] = {
    {6, 256, 3136, 3136, 0},      // fc_mu.0.weight:     d mu1, h3
    {12, 256, 3136, 3392, 0},     // fc_logvar.0.weight: d lv1, h3
    {22, 3136, 256, 3904, 3648},  // fc_dec.4.weight:    d d3, d2
};
_Static_assert(3136 + 3 * 256 + 3136 == VAE_FACTOR_FLOATS, "the factor blocks fill VAE_FACTOR_FLOATS");

// Where tensor t's gradient starts in the flat buffer (carve_params laid the tensors out).
static float *tensor_grad(Vae *m, int t) { return ((float **)&m->grads)[t]; }

int vae_tensor_factored(int t) {
    for (int f = 0; f < 3; f++)
        if (FACTORED[f].tensor == t) return 1;
    return 0;
}

int vae_share_grad(Vae *m, const float *images, int n, long first_index, float scale, VaeSums *sums, float *factors) {
    int status = vae_reserve(m, n); // before anything changes: out of memory leaves the gradients as they were
    if (status != LL_OK) return status;
    for (int t = 0; t < VAE_NUM_TENSORS; t++)
        if (!vae_tensor_factored(t))
            memset(tensor_grad(m, t), 0, tensor_size(&TENSORS[t]) * sizeof(float));
    status = gradient(m, images, n, first_index, scale, 1, sums);
    if (status != LL_OK) return status;
    const VaeActs *a = &m->acts, *da = &m->dacts;
    const float *parts[5] = {a->h3, da->mu1, da->lv1, a->d2, da->d3};
    const int widths[5] = {3136, 256, 256, 256, 3136};
    for (int j = 0; j < n; j++)
        for (int b = 0; b < 5; b++) {
            memcpy(factors, parts[b] + (size_t)j * widths[b], widths[b] * sizeof(float));
            factors += widths[b];
        }
    return LL_OK;
}

// dW over the flat elements [s, e) of one (rows, cols) weight: a partial first row, whole rows, a
// partial last row, one GEMM each, written (not added): dW[r][c] = sum_j dout[j][r] * in[j][c].
static void factored_span(float *dw, const float *dout, const float *in, int k, Factored f, size_t s, size_t e,
                          float *scratch) {
    while (s < e) {
        size_t r = s / (size_t)f.cols, c = s % (size_t)f.cols, rows = 1, cols = (size_t)f.cols - c;
        if (c == 0 && e - s >= (size_t)f.cols) rows = (e - s) / (size_t)f.cols;
        else if (e - s < cols) cols = e - s;
        gemm(dw + s, f.cols, matview(dout + r, 1, VAE_FACTOR_FLOATS), matview(in + c, VAE_FACTOR_FLOATS, 1), (int)rows,
             (int)cols, k, 0, scratch);
        s += (rows - 1) * (size_t)f.cols + cols;
    }
}

void vae_factored_weight_grads(Vae *m, const float *factors, int k, size_t i0, size_t i1) {
    for (int i = 0; i < 3; i++) {
        Factored f = FACTORED[i];
        float *dw = tensor_grad(m, f.tensor);
        size_t at = (size_t)(dw - m->grads_memory), size = (size_t)f.rows * f.cols;
        if (i1 <= at || i0 >= at + size) continue;
        size_t s = i0 > at ? i0 - at : 0, e = i1 < at + size ? i1 - at : size;
        factored_span(dw, factors + f.dout_at, factors + f.in_at, k, f, s, e, m->ws.gemm);
    }
}

// PyTorch's Adam on elements [i0, n): p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
// The plain loop is the twin of the f32x4 one below and finishes its tail; both do the same float
// operations in the same order, so the two builds take bit-identical steps.
static void adam_plain(float *p, const float *g, float *mm, float *vv, size_t i0, size_t n, VaeHyper h,
                       float step_size, float inv_sqrt_c2) {
    for (size_t i = i0; i < n; i++) {
        mm[i] = h.beta1 * mm[i] + (1.0f - h.beta1) * g[i];
        vv[i] = h.beta2 * vv[i] + (1.0f - h.beta2) * g[i] * g[i];
        p[i] -= step_size * mm[i] / (sqrtf(vv[i]) * inv_sqrt_c2 + h.eps);
    }
}

void vae_adam_step(Vae *m) { vae_adam_step_range(m, 0, m->num_params); }

// Elements [i0, i1) of one Adam step; i0 a multiple of 4, so every element takes the same lane
// of the same loop whatever range it is in.
static void adam_span(Vae *m, size_t i0, size_t i1, float step_size, float inv_sqrt_c2) {
    VaeHyper h = m->hyper;
    float *p = m->params_memory, *g = m->grads_memory, *mm = m->m_memory, *vv = m->v_memory;
    size_t i = i0;
#ifdef __wasm_simd128__
    v128_t b1 = wasm_f32x4_splat(h.beta1), nb1 = wasm_f32x4_splat(1.0f - h.beta1);
    v128_t b2 = wasm_f32x4_splat(h.beta2), nb2 = wasm_f32x4_splat(1.0f - h.beta2);
    v128_t ss = wasm_f32x4_splat(step_size), ic2 = wasm_f32x4_splat(inv_sqrt_c2), eps = wasm_f32x4_splat(h.eps);
    for (; i + 4 <= i1; i += 4) {
        v128_t gi = wasm_v128_load(g + i);
        v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(b1, wasm_v128_load(mm + i)), wasm_f32x4_mul(nb1, gi));
        v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(b2, wasm_v128_load(vv + i)), wasm_f32x4_mul(wasm_f32x4_mul(nb2, gi), gi));
        v128_t den = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sqrt(vi), ic2), eps);
        wasm_v128_store(mm + i, mi);
        wasm_v128_store(vv + i, vi);
        wasm_v128_store(p + i, wasm_f32x4_sub(wasm_v128_load(p + i), wasm_f32x4_div(wasm_f32x4_mul(ss, mi), den)));
    }
#endif
    adam_plain(p, g, mm, vv, i, i1, h, step_size, inv_sqrt_c2);
}

// The pool's threads take Adam in spans of SPAN elements (a multiple of 4).
enum { SPAN = 1 << 15 };
typedef struct {
    Vae *m;
    size_t i0, i1;
    float step_size, inv_sqrt_c2;
} AdamSpans;

static void adam_task(void *ctx, int task, int thread) {
    (void)thread;
    const AdamSpans *a = ctx;
    size_t s = a->i0 + (size_t)task * SPAN, e = s + SPAN < a->i1 ? s + SPAN : a->i1;
    adam_span(a->m, s, e, a->step_size, a->inv_sqrt_c2);
}

void vae_adam_step_range(Vae *m, size_t i0, size_t i1) {
    VaeHyper h = m->hyper;
    m->step++;
    float c1 = 1.0f - powf(h.beta1, (float)m->step), c2 = 1.0f - powf(h.beta2, (float)m->step);
    AdamSpans a = {m, i0, i1, h.lr / c1, 1.0f / sqrtf(c2)};
    pool_run(m->ws.pool, (int)((i1 - i0 + SPAN - 1) / SPAN), adam_task, &a);
}

void vae_set_pool(Vae *m, Pool *pool) { m->ws.pool = pool; }

int vae_grads_finite(const Vae *m) { return vae_grads_finite_range(m, 0, m->num_params); }

// Sums of g * 0 instead of a branch per element: NaN or infinity anywhere makes one non-zero (NaN).
// Four independent sums so the loop is not one long dependency chain. Spans of the pool's threads
// clear `finite` where they find one; the answer is the same whoever looks where.
typedef struct {
    const float *g;
    int finite;
} FiniteCheck;

static void finite_span(void *ctx, size_t i0, size_t i1) {
    FiniteCheck *c = ctx;
    float sum[4] = {0, 0, 0, 0};
    size_t i = i0;
    for (; i + 4 <= i1; i += 4)
        for (int j = 0; j < 4; j++) sum[j] += c->g[i + j] * 0.0f;
    for (; i < i1; i++) sum[0] += c->g[i] * 0.0f;
    if (!(sum[0] + sum[1] + sum[2] + sum[3] == 0.0f)) __atomic_store_n(&c->finite, 0, __ATOMIC_RELAXED);
}

int vae_grads_finite_range(const Vae *m, size_t i0, size_t i1) {
    FiniteCheck c = {m->grads_memory + i0, 1};
    pool_for(m->ws.pool, i1 - i0, 1 << 16, finite_span, &c);
    return c.finite;
}

void vae_add_grads(Vae *m, size_t i0, const float *g, size_t n) {
    float *dst = m->grads_memory + i0;
    size_t i = 0;
#ifdef __wasm_simd128__
    for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(g + i)));
#endif
    for (; i < n; i++) dst[i] += g[i];
}

int vae_train_batch(Vae *m, const float *images, int n, VaeSums *sums) {
    VaeSums s;
    vae_zero_grad(m);
    int status = vae_accumulate_grad(m, images, n, 0, 1.0f / (float)n, &s);
    if (status != LL_OK) return status;
    if (sums) *sums = s;
    // A diverged step never reaches the weights (nor Adam's moments): the model stays as it was.
    if (!isfinite(s.bce) || !isfinite(s.kl_raw) || !vae_grads_finite(m)) return LL_ENONFINITE;
    vae_adam_step(m);
    return LL_OK;
}

// --- inference -------------------------------------------------------------------------------
// How many images inference handles at once: up to 256 (growing the activation buffers to fit), or
// what the buffers already hold if growing fails; -1 if there are none.
static int chunk_size(Vae *m, int n) {
    int want = n < 256 ? n : 256;
    if (want < 1) want = 1;
    if (m->act_capacity >= want) return m->act_capacity < n ? m->act_capacity : n;
    return vae_reserve(m, want) == LL_OK ? want : (m->act_capacity > 0 ? m->act_capacity : -1);
}

int vae_encode(Vae *m, const float *images, int n, float *mu, float *logvar) {
    int chunk = chunk_size(m, n);
    if (chunk < 0) return LL_ENOMEM;
    for (int i0 = 0; i0 < n; i0 += chunk) {
        int c = n - i0 < chunk ? n - i0 : chunk;
        memcpy(m->acts.input, images + (size_t)i0 * VAE_PIXELS, (size_t)c * VAE_PIXELS * sizeof(float));
        encoder_forward(m, c);
        if (mu) memcpy(mu + (size_t)i0 * VAE_LATENT, m->acts.mu, (size_t)c * VAE_LATENT * sizeof(float));
        if (logvar) memcpy(logvar + (size_t)i0 * VAE_LATENT, m->acts.logvar, (size_t)c * VAE_LATENT * sizeof(float));
    }
    return LL_OK;
}

int vae_decode(Vae *m, const float *z, int n, float *probs) {
    int chunk = chunk_size(m, n);
    if (chunk < 0) return LL_ENOMEM;
    for (int i0 = 0; i0 < n; i0 += chunk) {
        int c = n - i0 < chunk ? n - i0 : chunk;
        memcpy(m->acts.z, z + (size_t)i0 * VAE_LATENT, (size_t)c * VAE_LATENT * sizeof(float));
        decoder_forward(m, c);
        sigmoid_forward(probs + (size_t)i0 * VAE_PIXELS, m->acts.logits, (size_t)c * VAE_PIXELS);
    }
    return LL_OK;
}

// Encodes images [i0, i0 + c) into the activations and picks their codes: the mean (no noise), one
// sample from the evaluation stream, or the caller's noise.
typedef enum { CODE_MEAN, CODE_SAMPLED, CODE_GIVEN_NOISE } CodeChoice;

static void encode_chunk(Vae *m, const float *images, int i0, int c, CodeChoice choice, const float *eps,
                         long first_index) {
    memcpy(m->acts.input, images + (size_t)i0 * VAE_PIXELS, (size_t)c * VAE_PIXELS * sizeof(float));
    encoder_forward(m, c);
    if (choice == CODE_MEAN) memcpy(m->acts.z, m->acts.mu, (size_t)c * VAE_LATENT * sizeof(float));
    else sample_latent(m, c, choice == CODE_GIVEN_NOISE ? eps + (size_t)i0 * VAE_LATENT : NULL, RNG_EVAL_NOISE, 0,
                       first_index + i0);
}

int vae_reconstruct(Vae *m, const float *images, int n, int sample, long first_index, float *probs) {
    int chunk = chunk_size(m, n);
    if (chunk < 0) return LL_ENOMEM;
    for (int i0 = 0; i0 < n; i0 += chunk) {
        int c = n - i0 < chunk ? n - i0 : chunk;
        encode_chunk(m, images, i0, c, sample ? CODE_SAMPLED : CODE_MEAN, NULL, first_index);
        decoder_forward(m, c);
        sigmoid_forward(probs + (size_t)i0 * VAE_PIXELS, m->acts.logits, (size_t)c * VAE_PIXELS);
    }
    return LL_OK;
}

static int evaluate_chunks(Vae *m, const float *images, const float *eps, int n, long first_index, VaeSums *sums) {
    int chunk = chunk_size(m, n);
    if (chunk < 0) return LL_ENOMEM;
    VaeSums total = {0, 0};
    for (int i0 = 0; i0 < n; i0 += chunk) {
        int c = n - i0 < chunk ? n - i0 : chunk;
        encode_chunk(m, images, i0, c, eps ? CODE_GIVEN_NOISE : CODE_SAMPLED, eps, first_index);
        decoder_forward(m, c);
        VaeSums s = loss_sums(m, c, NULL, 0.0f);
        total.bce += s.bce;
        total.kl_raw += s.kl_raw;
    }
    *sums = total;
    return LL_OK;
}

int vae_evaluate(Vae *m, const float *images, int n, long first_index, VaeSums *sums) {
    return evaluate_chunks(m, images, NULL, n, first_index, sums);
}

// As vae_evaluate, with the caller's noise instead of the model's: z = mu + e^(logvar/2) * eps. It lets
// another implementation (PyTorch, in the parity test) check the whole loss on the same draw.
int vae_evaluate_eps(Vae *m, const float *images, const float *eps, int n, VaeSums *sums) {
    return evaluate_chunks(m, images, eps, n, 0, sums);
}
