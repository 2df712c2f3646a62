// The exported model, mixture and metrics API the JavaScript loader calls, and the last-error slot
// every src/*_api.c file reports through: every argument from outside is checked in those files, once,
// and a failure leaves a readable message in ll_last_error() and changes nothing. Only they know they
// are exported; the model code stays plain C.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "gmm.h"
#include "metrics.h"
#include "status.h"
#include "vae.h"


#define MAX_IMAGES (1 << 20)    // per call; far above any real batch, far below an overflow
#define MAX_BATCH 4096

// The boundary's one piece of state: the message of the last failed call, like errno.
static char last_error[512];

int ll_fail(int status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return status;
}

EXPORT const char *ll_last_error(void) { return last_error; }

// --- argument checks -------------------------------------------------------------------------
static int check_count(const char *what, int n, int max) {
    if (n < 1) return ll_fail(LL_EINVAL, "%s: need at least 1, got %d", what, n);
    if (n > max) return ll_fail(LL_EINVAL, "%s: at most %d per call, got %d", what, max, n);
    return LL_OK;
}

// Images are pixel intensities in [0, 1]: BCE against anything else is meaningless.
static int check_images(const float *images, int n) {
    if (!images) return ll_fail(LL_EINVAL, "images: null pointer");
    size_t total = (size_t)n * VAE_PIXELS;
    for (size_t i = 0; i < total; i++) {
        float v = images[i];
        if (!isfinite(v)) return ll_fail(LL_ENONFINITE, "image %zu, pixel %zu is %s", i / VAE_PIXELS, i % VAE_PIXELS, isnan(v) ? "NaN" : "infinite");
        if (v < 0.0f || v > 1.0f) return ll_fail(LL_EINVAL, "image %zu, pixel %zu is %g: pixels must lie in [0, 1]", i / VAE_PIXELS, i % VAE_PIXELS, v);
    }
    return LL_OK;
}

static int check_finite(const char *what, const float *x, size_t n) {
    if (!x) return ll_fail(LL_EINVAL, "%s: null pointer", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return ll_fail(LL_ENONFINITE, "%s: value %zu is not finite", what, i);
    return LL_OK;
}

static int check_model(const Vae *m) { return m ? LL_OK : ll_fail(LL_EINVAL, "no model (null handle)"); }

// --- model -----------------------------------------------------------------------------------
EXPORT int ll_num_params(void) { return (int)vae_num_params(); }
EXPORT int ll_num_tensors(void) { return VAE_NUM_TENSORS; }
EXPORT const char *ll_tensor_name(int i) { return vae_tensor(i) ? vae_tensor(i)->name : NULL; }
EXPORT int ll_tensor_ndim(int i) { return vae_tensor(i) ? vae_tensor(i)->ndim : -1; }
EXPORT int ll_tensor_dim(int i, int d) {
    const TensorSpec *t = vae_tensor(i);
    return t && d >= 0 && d < t->ndim ? t->shape[d] : -1;
}

// seed: an integer in [0, 2^53), as JavaScript numbers hold exactly.
EXPORT Vae *ll_vae_create(double seed) {
    if (!(seed >= 0 && seed < 9007199254740992.0) || seed != floor(seed)) {
        ll_fail(LL_EINVAL, "seed must be an integer in [0, 2^53), got %g", seed);
        return NULL;
    }
    Vae *m = vae_create((uint64_t)seed);
    if (!m) ll_fail(LL_ENOMEM, "out of memory creating the model (%zu parameters)", vae_num_params());
    return m;
}

EXPORT void ll_vae_free(Vae *m) { vae_free(m); }
EXPORT float *ll_vae_params(Vae *m) { return m ? vae_params(m) : NULL; }
EXPORT float *ll_vae_grads(Vae *m) { return m ? vae_grads(m) : NULL; }
EXPORT double ll_vae_step_count(Vae *m) { return m ? (double)vae_step_count(m) : -1; }
EXPORT void ll_vae_reset_optimizer(Vae *m) { if (m) vae_reset_optimizer(m); }
// Adam's state, for a snapshot the trainer rolls back to: the moments (the caller reads and writes
// them in place, as it does the parameters) and the step count.
EXPORT float *ll_vae_adam_m(Vae *m) { return m ? vae_adam_m(m) : NULL; }
EXPORT float *ll_vae_adam_v(Vae *m) { return m ? vae_adam_v(m) : NULL; }
EXPORT int ll_vae_set_step_count(Vae *m, double step) {
    if (check_model(m)) return LL_EINVAL;
    if (!(step >= 0 && step < 1e15 && step == (double)(long)step))
        return ll_fail(LL_EINVAL, "Adam step count must be a whole number >= 0, got %g", step);
    vae_set_step_count(m, (long)step);
    return LL_OK;
}

EXPORT int ll_vae_set_hyper(Vae *m, float lr, float beta, float beta1, float beta2, float eps) {
    if (check_model(m)) return LL_EINVAL;
    if (!(lr > 0.0f && lr <= 1.0f)) return ll_fail(LL_EINVAL, "learning rate must be in (0, 1], got %g", lr);
    if (!(beta >= 0.0f && beta <= 1000.0f)) return ll_fail(LL_EINVAL, "beta must be in [0, 1000], got %g", beta);
    if (!(beta1 >= 0.0f && beta1 < 1.0f)) return ll_fail(LL_EINVAL, "Adam beta1 must be in [0, 1), got %g", beta1);
    if (!(beta2 >= 0.0f && beta2 < 1.0f)) return ll_fail(LL_EINVAL, "Adam beta2 must be in [0, 1), got %g", beta2);
    if (!(eps > 0.0f && eps <= 1.0f)) return ll_fail(LL_EINVAL, "Adam eps must be in (0, 1], got %g", eps);
    vae_set_hyper(m, (VaeHyper){lr, beta, beta1, beta2, eps});
    return LL_OK;
}

// Per-image means from loss sums: out[0] = training objective (bce + beta * kl_raw),
// out[1] = reconstruction BCE, out[2] = the usual KL (kl_raw / 2).
static void write_losses(float *out, VaeSums s, int n, float beta) {
    out[0] = (float)((s.bce + beta * s.kl_raw) / n);
    out[1] = (float)(s.bce / n);
    out[2] = (float)(0.5 * s.kl_raw / n);
}

EXPORT int ll_vae_train_batch(Vae *m, const float *images, int n, float *losses_out) {
    if (check_model(m) || check_count("batch size", n, MAX_BATCH) || check_images(images, n)) return -1;
    if (!losses_out) return ll_fail(LL_EINVAL, "losses_out: null pointer");
    VaeSums s;
    int status = vae_train_batch(m, images, n, &s);
    if (status == LL_ENONFINITE)
        return ll_fail(status, "the loss or its gradient is not finite (loss %g): the step was skipped and the model "
                       "is unchanged; lower the learning rate", s.bce + vae_hyper(m).beta * s.kl_raw);
    if (status != LL_OK) return ll_fail(status, "out of memory for a batch of %d", n);
    write_losses(losses_out, s, n, vae_hyper(m).beta);
    return LL_OK;
}

// Data-parallel pieces: each worker accumulates scale * gradient of its share of a batch
// (first_index = the share's offset in the batch), the gradients are summed, then one Adam step.
EXPORT void ll_vae_zero_grad(Vae *m) { if (m) vae_zero_grad(m); }
// The arguments of a share's gradient, for both kinds of share.
static int check_share(Vae *m, const float *images, int n, double first_index, float scale) {
    if (check_model(m) || check_count("images", n, MAX_BATCH) || check_images(images, n)) return -1;
    if (!(first_index >= 0 && first_index < 1e15)) return ll_fail(LL_EINVAL, "first_index out of range: %g", first_index);
    if (!(scale > 0.0f && isfinite(scale))) return ll_fail(LL_EINVAL, "gradient scale must be positive, got %g", scale);
    return LL_OK;
}
EXPORT int ll_vae_accumulate_grad(Vae *m, const float *images, int n, double first_index, float scale, double *sums_out) {
    if (check_share(m, images, n, first_index, scale)) return -1;
    VaeSums s;
    int status = vae_accumulate_grad(m, images, n, (long)first_index, scale, &s);
    if (status != LL_OK) return ll_fail(status, "out of memory for a batch of %d", n);
    if (sums_out) { sums_out[0] = s.bce; sums_out[1] = s.kl_raw; }
    return LL_OK;
}
// The factored variant (vae.h): the share's gradient but the big linear weights', and their factors.
EXPORT int ll_vae_factor_floats(void) { return VAE_FACTOR_FLOATS; }
EXPORT int ll_vae_tensor_factored(int t) { return t >= 0 && t < VAE_NUM_TENSORS && vae_tensor_factored(t); }
EXPORT int ll_vae_share_grad(Vae *m, const float *images, int n, double first_index, float scale, double *sums_out,
                             float *factors_out) {
    if (check_share(m, images, n, first_index, scale)) return -1;
    if (!factors_out) return ll_fail(LL_EINVAL, "factors_out: null pointer");
    VaeSums s;
    int status = vae_share_grad(m, images, n, (long)first_index, scale, &s, factors_out);
    if (status != LL_OK) return ll_fail(status, "out of memory for a batch of %d", n);
    if (sums_out) { sums_out[0] = s.bce; sums_out[1] = s.kl_raw; }
    return LL_OK;
}

// The sliced variant (see vae.h): [i0, i1) of the parameters, i0 <= i1 <= number of parameters.
static int check_slice(Vae *m, double i0, double i1) {
    if (check_model(m)) return -1;
    if (!(i0 >= 0 && i0 <= i1 && i1 <= (double)vae_num_params()))
        return ll_fail(LL_EINVAL, "parameter slice [%g, %g) outside [0, %zu)", i0, i1, vae_num_params());
    return LL_OK;
}
EXPORT int ll_vae_add_grads(Vae *m, double i0, const float *g, double n) {
    if (check_slice(m, i0, i0 + n)) return -1;
    if (!g && n > 0) return ll_fail(LL_EINVAL, "add_grads: no buffer");
    vae_add_grads(m, (size_t)i0, g, (size_t)n);
    return LL_OK;
}
EXPORT int ll_vae_factored_weight_grads(Vae *m, const float *factors, int k, double i0, double i1) {
    if (check_slice(m, i0, i1)) return -1;
    // The factors of a whole batch: up to 64 workers' shares (web/lib/run/parallel.js).
    if (!(k >= 1 && k <= 64 * MAX_BATCH))
        return ll_fail(LL_EINVAL, "factored weight gradients of %d images (1 to %d)", k, 64 * MAX_BATCH);
    if (!factors) return ll_fail(LL_EINVAL, "factors: null pointer");
    vae_factored_weight_grads(m, factors, k, (size_t)i0, (size_t)i1);
    return LL_OK;
}
EXPORT int ll_vae_grads_finite_range(Vae *m, double i0, double i1) {
    if (check_slice(m, i0, i1)) return -1;
    return vae_grads_finite_range(m, (size_t)i0, (size_t)i1);
}
EXPORT int ll_vae_adam_step_range(Vae *m, double i0, double i1) {
    if (check_slice(m, i0, i1)) return -1;
    vae_adam_step_range(m, (size_t)i0, (size_t)i1);
    return LL_OK;
}

EXPORT int ll_vae_encode(Vae *m, const float *images, int n, float *mu_out, float *logvar_out) {
    if (check_model(m) || check_count("images", n, MAX_IMAGES) || check_images(images, n)) return -1;
    if (!mu_out && !logvar_out) return ll_fail(LL_EINVAL, "encode: no output buffer");
    int status = vae_encode(m, images, n, mu_out, logvar_out);
    return status == LL_OK ? LL_OK : ll_fail(status, "out of memory encoding %d images", n);
}

EXPORT int ll_vae_decode(Vae *m, const float *z, int n, float *images_out) {
    if (check_model(m) || check_count("latent points", n, MAX_IMAGES)) return -1;
    if (check_finite("latent points", z, (size_t)n * VAE_LATENT)) return -1;
    if (!images_out) return ll_fail(LL_EINVAL, "decode: no output buffer");
    int status = vae_decode(m, z, n, images_out);
    return status == LL_OK ? LL_OK : ll_fail(status, "out of memory decoding %d points", n);
}

EXPORT int ll_vae_reconstruct(Vae *m, const float *images, int n, int sample, float *images_out) {
    if (check_model(m) || check_count("images", n, MAX_IMAGES) || check_images(images, n)) return -1;
    if (!images_out) return ll_fail(LL_EINVAL, "reconstruct: no output buffer");
    int status = vae_reconstruct(m, images, n, sample != 0, 0, images_out);
    return status == LL_OK ? LL_OK : ll_fail(status, "out of memory reconstructing %d images", n);
}

// Loss of n images with one sampled code each (evaluation noise, image i uses counter first_index + i).
EXPORT int ll_vae_evaluate(Vae *m, const float *images, int n, double first_index, float *losses_out) {
    if (check_model(m) || check_count("images", n, MAX_IMAGES) || check_images(images, n)) return -1;
    if (!losses_out) return ll_fail(LL_EINVAL, "losses_out: null pointer");
    VaeSums s;
    int status = vae_evaluate(m, images, n, (long)first_index, &s);
    if (status != LL_OK) return ll_fail(status, "out of memory evaluating %d images", n);
    write_losses(losses_out, s, n, vae_hyper(m).beta);
    return LL_OK;
}

// The same loss with the caller's noise eps (n, 2): z = mu + e^(logvar/2) * eps (the parity test's).
EXPORT int ll_vae_evaluate_eps(Vae *m, const float *images, const float *eps, int n, float *losses_out) {
    if (check_model(m) || check_count("images", n, MAX_IMAGES) || check_images(images, n)) return -1;
    if (check_finite("noise", eps, (size_t)n * VAE_LATENT)) return -1;
    if (!losses_out) return ll_fail(LL_EINVAL, "losses_out: null pointer");
    VaeSums s;
    int status = vae_evaluate_eps(m, images, eps, n, &s);
    if (status != LL_OK) return ll_fail(status, "out of memory evaluating %d images", n);
    write_losses(losses_out, s, n, vae_hyper(m).beta);
    return LL_OK;
}

// --- mixture ---------------------------------------------------------------------------------
static int check_gmm(const Gmm *g) { return g ? LL_OK : ll_fail(LL_EINVAL, "no mixture (null handle)"); }

static int check_points(const Gmm *g, const float *x, int n) {
    if (check_count("points", n, MAX_IMAGES)) return -1;
    return check_finite("points", x, (size_t)n * gmm_d(g));
}

static int check_labels(const int *y, int n, int n_classes) {
    if (!y) return ll_fail(LL_EINVAL, "labels: null pointer");
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes)
            return ll_fail(LL_EINVAL, "label %d at %d is outside 0..%d", y[i], i, n_classes - 1);
    return LL_OK;
}

EXPORT Gmm *ll_gmm_create(int k, int d, int max_iter) {
    if (k < 1 || k > 256) { ll_fail(LL_EINVAL, "number of components K must be 1..256, got %d", k); return NULL; }
    if (d < 1 || d > 16) { ll_fail(LL_EINVAL, "dimension must be 1..16, got %d", d); return NULL; }
    if (max_iter < 1 || max_iter > 10000) { ll_fail(LL_EINVAL, "max iterations must be 1..10000, got %d", max_iter); return NULL; }
    Gmm *g = gmm_create(k, d, max_iter);
    if (!g) ll_fail(LL_ENOMEM, "out of memory creating a %d-component mixture", k);
    return g;
}

EXPORT void ll_gmm_free(Gmm *g) { gmm_free(g); }
EXPORT int ll_gmm_component_class(Gmm *g, int j) { return g ? gmm_component_class(g, j) : -1; }

// Names the components: component j predicts class component_class[j] (>= 0).
EXPORT int ll_gmm_set_component_classes(Gmm *g, const int *component_class) {
    if (check_gmm(g)) return -1;
    if (!component_class) return ll_fail(LL_EINVAL, "component classes: null pointer");
    for (int j = 0; j < gmm_k(g); j++)
        if (component_class[j] < 0 || component_class[j] > 255)
            return ll_fail(LL_EINVAL, "component %d: class %d is outside 0..255", j, component_class[j]);
    return gmm_set_component_classes(g, component_class);
}

EXPORT int ll_gmm_init_labelled(Gmm *g, const float *x, const int *y, int n, int n_classes) {
    if (check_gmm(g) || check_points(g, x, n)) return -1;
    if (n_classes < 1 || gmm_k(g) % n_classes != 0)
        return ll_fail(LL_EINVAL, "%d components cannot be shared equally by %d classes", gmm_k(g), n_classes);
    if (check_labels(y, n, n_classes)) return -1;
    int status = gmm_init_labelled(g, x, y, n, n_classes);
    return status == LL_OK ? LL_OK : ll_fail(status, "every class needs at least one labelled point");
}

EXPORT int ll_gmm_init_kmeanspp(Gmm *g, const float *x, int n, double seed) {
    if (check_gmm(g) || check_points(g, x, n)) return -1;
    if (n < gmm_k(g)) return ll_fail(LL_EINVAL, "k-means++ needs at least K = %d points, got %d", gmm_k(g), n);
    int status = gmm_init_kmeanspp(g, x, n, (unsigned long long)seed);
    return status == LL_OK ? LL_OK : ll_fail(status, "k-means++ initialisation failed");
}

EXPORT int ll_gmm_init_params(Gmm *g, const float *weights, const float *means, const float *covs) {
    if (check_gmm(g)) return -1;
    int k = gmm_k(g), d = gmm_d(g);
    if (check_finite("weights", weights, k) || check_finite("means", means, (size_t)k * d) ||
        check_finite("covariances", covs, (size_t)k * d * d))
        return -1;
    int status = gmm_init_params(g, weights, means, covs);
    return status == LL_OK ? LL_OK : ll_fail(status, "weights must be positive and covariances symmetric positive definite");
}

// Labelled points whose responsibilities stay fixed to their class (semi-supervised EM); n = 0 clears.
EXPORT int ll_gmm_set_labelled(Gmm *g, const float *x, const int *y, int n, int n_classes) {
    if (check_gmm(g)) return -1;
    if (n == 0) return gmm_set_labelled(g, NULL, NULL, 0);
    if (check_points(g, x, n) || check_labels(y, n, n_classes)) return -1;
    int status = gmm_set_labelled(g, x, y, n);
    return status == LL_OK ? LL_OK : ll_fail(status, "a labelled class has no component");
}

EXPORT int ll_gmm_step(Gmm *g, const float *x, int n) {
    if (check_gmm(g) || check_points(g, x, n)) return -1;
    if (gmm_history_len(g) < 1) return ll_fail(LL_EINVAL, "initialise the mixture before EM");
    int status = gmm_step(g, x, n);
    return status == LL_OK ? LL_OK : ll_fail(status, "EM step failed (history full?)");
}

EXPORT int ll_gmm_fit(Gmm *g, const float *x, int n, int max_iter, double tol) {
    if (check_gmm(g) || check_points(g, x, n)) return -1;
    if (gmm_history_len(g) < 1) return ll_fail(LL_EINVAL, "initialise the mixture before EM");
    if (max_iter < 1) return ll_fail(LL_EINVAL, "max iterations must be at least 1, got %d", max_iter);
    if (!(tol >= 0 && isfinite(tol))) return ll_fail(LL_EINVAL, "tolerance must be finite and >= 0, got %g", tol);
    int iterations = gmm_fit(g, x, n, max_iter, tol);
    return iterations >= 0 ? iterations : ll_fail(iterations, "EM failed");
}

EXPORT int ll_gmm_history_len(Gmm *g) { return g ? gmm_history_len(g) : -1; }

EXPORT int ll_gmm_get(Gmm *g, int t, float *weights, float *means, float *covs, double *loglik_objective) {
    if (check_gmm(g)) return -1;
    if (t < 0 || t >= gmm_history_len(g)) return ll_fail(LL_EINVAL, "iteration %d not in 0..%d", t, gmm_history_len(g) - 1);
    int status = gmm_get(g, t, weights, means, covs, loglik_objective);
    if (loglik_objective) loglik_objective[1] = gmm_objective(g, t);
    return status;
}

EXPORT int ll_gmm_predict(Gmm *g, const float *x, int n, int *component_out, int *class_out, float *resp_out) {
    if (check_gmm(g) || check_points(g, x, n)) return -1;
    if (gmm_history_len(g) < 1) return ll_fail(LL_EINVAL, "initialise the mixture before predicting");
    return gmm_predict(g, x, n, component_out, class_out, resp_out);
}

// --- metrics ---------------------------------------------------------------------------------
// scores_out: accuracy, macro precision, macro recall, macro F1; cm_out (C, C), row = truth.
EXPORT int ll_classification_report(const int *truth, const int *pred, int n, int n_classes, int *cm_out, float *scores_out) {
    if (check_count("predictions", n, MAX_IMAGES)) return -1;
    if (n_classes < 1 || n_classes > 256) return ll_fail(LL_EINVAL, "classes must be 1..256, got %d", n_classes);
    if (check_labels(truth, n, n_classes) || check_labels(pred, n, n_classes)) return -1;
    confusion_matrix(cm_out, truth, pred, n, n_classes);
    classification_scores(cm_out, n_classes, &scores_out[0], &scores_out[1], &scores_out[2], &scores_out[3]);
    return LL_OK;
}

EXPORT int ll_knn_classify(int *pred, const float *train_x, const int *train_y, int n_train, const float *test_x,
                           int n_test, int d, int k, int n_classes) {
    if (check_count("training points", n_train, MAX_IMAGES) || check_count("test points", n_test, MAX_IMAGES)) return -1;
    if (d < 1 || d > 16) return ll_fail(LL_EINVAL, "dimension must be 1..16, got %d", d);
    if (k < 1 || k > n_train) return ll_fail(LL_EINVAL, "k must be 1..%d (training points), got %d", n_train, k);
    if (n_classes < 1 || n_classes > 256) return ll_fail(LL_EINVAL, "classes must be 1..256, got %d", n_classes);
    if (check_finite("training points", train_x, (size_t)n_train * d) || check_finite("test points", test_x, (size_t)n_test * d) ||
        check_labels(train_y, n_train, n_classes))
        return -1;
    int status = knn_classify(pred, train_x, train_y, n_train, test_x, n_test, d, k, n_classes);
    return status == LL_OK ? LL_OK : ll_fail(status, "kNN failed");
}
