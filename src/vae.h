// The report's convolutional VAE (2-D latent), as its authors' PyTorch code builds it: parameter
// table, forward, backward, loss and Adam. One handle owns every buffer; nothing here is global.
// Not here: argument checking for outside callers (wasm_api.c), data loading, the mixture.
#ifndef LL_VAE_H
#define LL_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/pool.h"

#define VAE_LATENT 2
#define VAE_PIXELS 784   // 1 x 28 x 28
#define VAE_NUM_TENSORS 30

typedef struct {
    const char *name;   // PyTorch state_dict name of the authors' module
    int ndim;
    int shape[4];
    int fan_in;         // PyTorch's fan_in for the default (Kaiming-uniform) initialisation
} TensorSpec;

// The parameters, in state_dict order, carved out of one flat buffer. B = batch.
typedef struct {
    float *conv1_w;    // (32, 1, 4, 4)    conv1.weight
    float *conv1_b;    // (32)
    float *conv2_w;    // (64, 32, 4, 4)   conv2.weight
    float *conv2_b;    // (64)
    float *conv3_w;    // (64, 64, 3, 3)   conv3.weight
    float *conv3_b;    // (64)
    float *mu0_w;      // (256, 3136)      fc_mu.0.weight
    float *mu0_b;      // (256)
    float *mu2_w;      // (128, 256)       fc_mu.2.weight
    float *mu2_b;      // (128)
    float *mu4_w;      // (2, 128)         fc_mu.4.weight
    float *mu4_b;      // (2)
    float *lv0_w;      // (256, 3136)      fc_logvar.0.weight
    float *lv0_b;      // (256)
    float *lv2_w;      // (128, 256)       fc_logvar.2.weight
    float *lv2_b;      // (128)
    float *lv4_w;      // (2, 128)         fc_logvar.4.weight
    float *lv4_b;      // (2)
    float *dec0_w;     // (128, 2)         fc_dec.0.weight
    float *dec0_b;     // (128)
    float *dec2_w;     // (256, 128)       fc_dec.2.weight
    float *dec2_b;     // (256)
    float *dec4_w;     // (3136, 256)      fc_dec.4.weight
    float *dec4_b;     // (3136)
    float *deconv1_w;  // (64, 64, 4, 4)   deconv1.weight (ConvTranspose2d: in, out, kh, kw)
    float *deconv1_b;  // (64)
    float *deconv2_w;  // (64, 32, 4, 4)   deconv2.weight
    float *deconv2_b;  // (32)
    float *deconv3_w;  // (32, 1, 3, 3)    deconv3.weight
    float *deconv3_b;  // (1)
} VaeParams;

typedef struct {
    float lr;      // Adam learning rate (authors: 3e-4)
    float beta;    // weight of sum(mu^2 + e^logvar - 1 - logvar), i.e. 2*beta times the usual KL (authors: 0.55)
    float beta1, beta2, eps;  // Adam (0.9, 0.999, 1e-8)
} VaeHyper;

// Per-batch sums the loss is built from: bce = sum of per-pixel BCE, kl_raw = sum(mu^2 + e^lv - 1 - lv).
// The usual KL is kl_raw / 2; the training objective is bce + beta * kl_raw.
typedef struct {
    double bce, kl_raw;
} VaeSums;

typedef struct Vae Vae;

const TensorSpec *vae_tensor(int i);    // 0 .. VAE_NUM_TENSORS-1
size_t vae_num_params(void);
VaeHyper vae_default_hyper(void);

// A model with PyTorch's default initialisation drawn from seed. NULL if memory runs out.
Vae *vae_create(uint64_t seed);
void vae_free(Vae *m);
float *vae_params(Vae *m);              // (vae_num_params) flat, state_dict order
float *vae_grads(Vae *m);               // same layout
const VaeParams *vae_param_view(const Vae *m);
VaeHyper vae_hyper(const Vae *m);
void vae_set_hyper(Vae *m, VaeHyper h);  // the caller validated it
uint64_t vae_seed(const Vae *m);
long vae_step_count(const Vae *m);      // Adam steps taken
// Adam's first and second moments (vae_num_params each) and its step count: with the parameters, the
// whole training state, so a trainer can snapshot it and roll back to it.
float *vae_adam_m(Vae *m);
float *vae_adam_v(Vae *m);
void vae_set_step_count(Vae *m, long step);
// Sizes the activation buffers for batches of up to n images (they grow on demand otherwise).
int vae_reserve(Vae *m, int n);
// Resets Adam's moments and step count (after loading weights, say).
void vae_reset_optimizer(Vae *m);

// Training: grads = 0; grads += scale * d(loss)/d(params) for n images; then one Adam step.
// Image j of this call draws its noise for (step, first_index + j), so a batch split across workers
// draws exactly the noise it would draw whole.
void vae_zero_grad(Vae *m);
int vae_accumulate_grad(Vae *m, const float *images, int n, long first_index, float scale, VaeSums *sums);
void vae_adam_step(Vae *m);
// Data-parallel training with the parameters cut into slices, one per worker: each worker sums one
// slice of every worker's gradient (grads[i0, i0+n) += g, elementwise), checks it and takes the Adam
// step of that slice alone (the step count still advances by one), then the slices are exchanged.
void vae_adam_step_range(Vae *m, size_t i0, size_t i1);
void vae_add_grads(Vae *m, size_t i0, const float *g, size_t n);
int vae_grads_finite_range(const Vae *m, size_t i0, size_t i1);
// Shares whose largest gradients travel as factors (vae.c explains): every gradient but the three
// big linear weights' is set to scale * d(loss)/d(params) of the n images, and their factors go to
// factors (n * VAE_FACTOR_FLOATS); then each worker forms the weights' gradients over its slice
// [i0, i1) from the factors of all k images of the batch, in the batch's order (written, not added).
#define VAE_FACTOR_FLOATS 7040
int vae_tensor_factored(int t);
int vae_share_grad(Vae *m, const float *images, int n, long first_index, float scale, VaeSums *sums, float *factors);
void vae_factored_weight_grads(Vae *m, const float *factors, int k, size_t i0, size_t i1);
// zero_grad + accumulate_grad (scale 1/n) + adam_step. LL_ENONFINITE, and no step, if the loss or
// a gradient is not finite.
int vae_train_batch(Vae *m, const float *images, int n, VaeSums *sums);
int vae_grads_finite(const Vae *m);
// Threads over the same memory that share the model's GEMMs and Adam (NULL: none). The pool outlives
// its use here; the model gives the same bits with or without one.
void vae_set_pool(Vae *m, Pool *pool);

// Inference (any n; processed in chunks). images (n, 784) in [0, 1].
int vae_encode(Vae *m, const float *images, int n, float *mu, float *logvar);        // (n, 2) each
int vae_decode(Vae *m, const float *z, int n, float *probs);                         // z (n, 2) -> (n, 784)
// Reconstruction from the mean code (sample = 0) or one sampled code (sample = 1, evaluation noise).
int vae_reconstruct(Vae *m, const float *images, int n, int sample, long first_index, float *probs);
// Loss sums with one sampled z per image, as in training, from the evaluation noise stream.
int vae_evaluate(Vae *m, const float *images, int n, long first_index, VaeSums *sums);
// The same with the caller's noise eps (n, 2) in z = mu + e^(logvar/2) * eps (for comparing implementations).
int vae_evaluate_eps(Vae *m, const float *images, const float *eps, int n, VaeSums *sums);

#endif
