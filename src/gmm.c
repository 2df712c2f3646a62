// Gaussian-mixture EM with full covariances (Cholesky, double precision) and a history of every iteration.
// E-step in log space; M-step from shifted sufficient statistics, so no (N, K) responsibility buffer is needed.
// Not a general statistics library: no model selection, no choice among restarts, no allocation per point.
#include "gmm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define GMM_MAX_D 16
#define GMM_MAX_ITER 10000
#define GMM_MAX_BYTES ((uint64_t)1 << 31) // cap on the history + scratch block
#define W_MIN 1e-10    // weight of a component that lost its points: keeps log w finite, lets it come back
#define NK_EMPTY 1e-8  // responsibility mass (in points) below which a component counts as empty
#define COND_MAX 1e10  // covariances are jittered until pivot^2 > max diag / COND_MAX (no eigen-collapse)
#define LLOYD_ITERS 20 // k-means refinement after seeding; assignments usually settle well before this

static const double LOG_2PI = 1.83787706640934548356;

struct Gmm {
    int k, d;
    int cap, len;         // history entries: room for cap = max_iter + 1, len filled (0 before any init)
    double reg;           // covariance floor added to the diagonal
    int *component_class; // (K)
    // history, one flat block
    double *w;   // (cap, K)
    double *mu;  // (cap, K, D)
    double *cov; // (cap, K, D, D)
    double *ll;  // (cap) mean log-likelihood per unlabelled point
    double *obj; // (cap) what EM increases: mean over all points of log p(x) (unlabelled), log p(x, class) (labelled)
    // the latest entry, factored for the E-step
    double *chol; // (K, D, D) lower L with cov = L L^T
    double *logc; // (K) log w_k - (D log 2pi + log det cov_k) / 2
    // M-step statistics, shifted by the component's current mean m: sums of r, r(x-m), r(x-m)(x-m)^T
    double *nk; // (K)
    double *s1; // (K, D)
    double *s2; // (K, D, D) lower triangle used
    double *lp; // (K) log w_k N(x | k) of one point
    // labelled set (copied)
    int n_lab;
    float *lab_x; // (n_lab, D)
    int *lab_y;   // (n_lab)
};

// ----------------------------------------------------------------------------
// small helpers

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

// splitmix64: tiny, seedable, good enough to pick k-means++ centres; rand() is neither seeded per object nor portable.
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; } // [0, 1)

static double sqdist(const float *x, const double *c, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += ((double)x[i] - c[i]) * ((double)x[i] - c[i]);
    return s;
}

static int nearest(const float *x, const double *centres, int k, int d) {
    int best = 0;
    double bd = INFINITY;
    for (int j = 0; j < k; j++) {
        double dd = sqdist(x, centres + (size_t)j * d, d);
        if (dd < bd) bd = dd, best = j;
    }
    return best;
}

// ----------------------------------------------------------------------------
// covariance algebra

// Lower Cholesky factor L (d, d) of symmetric A, A = L L^T. Returns 0 if some squared pivot is not above
// floor: that is how a singular or collapsing covariance shows up (the smallest squared pivot >= smallest eigenvalue).
static int cholesky(double *L, const double *A, int d, double floor) {
    for (int i = 0; i < d; i++) {
        for (int j = 0; j <= i; j++) {
            double s = A[i * d + j];
            for (int p = 0; p < j; p++) s -= L[i * d + p] * L[j * d + p];
            if (i == j) {
                if (!(s > floor)) return 0; // also rejects NaN
                L[i * d + i] = sqrt(s);
            } else {
                L[i * d + j] = s / L[j * d + j];
            }
        }
        for (int j = i + 1; j < d; j++) L[i * d + j] = 0;
    }
    return 1;
}

// Covariance floor: add reg to the diagonal; if the matrix is still near-singular (a component's points on a line,
// or all on one point), add a jitter growing tenfold until its condition number is below about COND_MAX.
// Returns 0 only if cov is not finite.
static int floor_cov(double *cov, int d, double reg) {
    double L[GMM_MAX_D * GMM_MAX_D], maxdiag = 0;
    for (int i = 0; i < d; i++) {
        cov[i * d + i] += reg;
        if (cov[i * d + i] > maxdiag) maxdiag = cov[i * d + i];
    }
    double jitter = fmax(maxdiag / COND_MAX, 1e-12);
    for (int tries = 0; tries < 64; tries++) {
        if (cholesky(L, cov, d, maxdiag / COND_MAX)) return 1;
        if (!isfinite(maxdiag)) return 0;
        for (int i = 0; i < d; i++) cov[i * d + i] += jitter;
        maxdiag += jitter;
        jitter *= 10;
    }
    return 0;
}

// Factor the latest entry for the E-step. Entries are floored when written, so this only fails on a caller's
// non-positive-definite covariance in gmm_init_params.
static int refactor(Gmm *g) {
    int K = g->k, D = g->d;
    size_t t = (size_t)g->len - 1;
    for (int j = 0; j < K; j++) {
        double *L = g->chol + (size_t)j * D * D;
        if (!cholesky(L, g->cov + (t * K + j) * D * D, D, 0.0)) return LL_EINVAL;
        double logdet = 0;
        for (int i = 0; i < D; i++) logdet += 2.0 * log(L[i * D + i]);
        g->logc[j] = log(g->w[t * K + j]) - 0.5 * (D * LOG_2PI + logdet);
    }
    return LL_OK;
}

// Start a new history whose entry 0 has just been written into slot 0.
static int begin_history(Gmm *g) {
    g->len = 1;
    g->ll[0] = g->obj[0] = NAN; // filled by the first gmm_step, which sees the data
    int rc = refactor(g);
    if (rc != LL_OK) g->len = 0;
    return rc;
}

// ----------------------------------------------------------------------------
// E-step pieces

// lp (K) = log w_k + log N(x | mu_k, cov_k) under the latest entry, for one point x (D). Returns log sum_k exp(lp_k).
static double log_joint(const Gmm *g, const float *x, double *lp) {
    int K = g->k, D = g->d;
    const double *mu = g->mu + ((size_t)g->len - 1) * K * D;
    double z[GMM_MAX_D], mx = -INFINITY;
    for (int j = 0; j < K; j++) {
        const double *L = g->chol + (size_t)j * D * D, *m = mu + (size_t)j * D;
        // Mahalanobis distance (x-m)^T cov^-1 (x-m) = |z|^2 with L z = x - m (forward substitution)
        double q = 0;
        for (int i = 0; i < D; i++) {
            double s = (double)x[i] - m[i];
            for (int p = 0; p < i; p++) s -= L[i * D + p] * z[p];
            z[i] = s / L[i * D + i];
            q += z[i] * z[i];
        }
        lp[j] = g->logc[j] - 0.5 * q;
        if (lp[j] > mx) mx = lp[j];
    }
    if (!isfinite(mx)) return mx;
    double s = 0;
    for (int j = 0; j < K; j++) s += exp(lp[j] - mx);
    return mx + log(s);
}

static double mean_loglik(const Gmm *g, const float *x, int n, double *lp) {
    double s = 0;
    for (int i = 0; i < n; i++) s += log_joint(g, x + (size_t)i * g->d, lp);
    return s / n;
}

// log p(x, class c) = log sum over c's components of exp(lp_k), from lp (K) of log_joint. -inf if c has none.
static double class_lse(const Gmm *g, const double *lp, int c) {
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < g->k; j++)
        if (g->component_class[j] == c && lp[j] > mx) mx = lp[j];
    if (!isfinite(mx)) return mx;
    for (int j = 0; j < g->k; j++)
        if (g->component_class[j] == c) s += exp(lp[j] - mx);
    return mx + log(s);
}

// Sum of log p(x, y) over the labelled points whose class has a component; *used counts them.
static double labelled_loglik_sum(const Gmm *g, double *lp, int *used) {
    double s = 0;
    *used = 0;
    for (int i = 0; i < g->n_lab; i++) {
        log_joint(g, g->lab_x + (size_t)i * g->d, lp);
        double l = class_lse(g, lp, g->lab_y[i]);
        if (l == -INFINITY) continue; // the class lost its components since gmm_set_labelled
        s += l, (*used)++;
    }
    return s;
}

// Add point x (D) with responsibility r to component j's statistics, shifted by m (D), the component's current mean:
// shifting keeps cov = s2/nk - (s1/nk)(s1/nk)^T free of the cancellation the raw sum of x x^T would suffer.
static void accumulate(Gmm *g, int j, double r, const float *x, const double *m) {
    int D = g->d;
    double dx[GMM_MAX_D], *s1 = g->s1 + (size_t)j * D, *s2 = g->s2 + (size_t)j * D * D;
    for (int i = 0; i < D; i++) dx[i] = (double)x[i] - m[i];
    g->nk[j] += r;
    for (int i = 0; i < D; i++) {
        s1[i] += r * dx[i];
        for (int p = 0; p <= i; p++) s2[i * D + p] += r * dx[i] * dx[p];
    }
}

static void zero_stats(Gmm *g) {
    int K = g->k, D = g->d;
    memset(g->nk, 0, sizeof(double) * K);
    memset(g->s1, 0, sizeof(double) * K * D);
    memset(g->s2, 0, sizeof(double) * K * D * D);
}

// Mean and floored covariance of component j from the statistics, shifted by m; written to mu_out (D), cov_out (D, D).
static int moments(const Gmm *g, int j, const double *m, double *mu_out, double *cov_out) {
    int D = g->d;
    const double *s1 = g->s1 + (size_t)j * D, *s2 = g->s2 + (size_t)j * D * D;
    double dm[GMM_MAX_D], inv = 1.0 / g->nk[j];
    for (int i = 0; i < D; i++) dm[i] = s1[i] * inv, mu_out[i] = m[i] + dm[i];
    for (int i = 0; i < D; i++)
        for (int p = 0; p <= i; p++)
            cov_out[i * D + p] = cov_out[p * D + i] = s2[i * D + p] * inv - dm[i] * dm[p];
    return floor_cov(cov_out, D, g->reg);
}

// Weights from masses, floored at W_MIN and renormalised.
static void set_weights(double *w, const double *mass, int k, double total) {
    double s = 0;
    for (int j = 0; j < k; j++) {
        w[j] = mass[j] / total;
        if (!(w[j] >= W_MIN)) w[j] = W_MIN;
        s += w[j];
    }
    for (int j = 0; j < k; j++) w[j] /= s;
}

// ----------------------------------------------------------------------------
// lifetime

Gmm *gmm_create(int k, int d, int max_iter) {
    if (k < 1 || d < 1 || d > GMM_MAX_D || max_iter < 1 || max_iter > GMM_MAX_ITER) return NULL;
    uint64_t K = (uint64_t)k, D = (uint64_t)d, cap = (uint64_t)max_iter + 1;
    uint64_t hist = cap * (K + K * D + K * D * D + 2), scratch = K * D * D + K + K + K * D + K * D * D + K;
    // refuse more than 2 GiB (wasm32's whole address space is 4 GiB, and size_t there would wrap at 4)
    if ((hist + scratch) * sizeof(double) > GMM_MAX_BYTES || K * sizeof(int) > GMM_MAX_BYTES) return NULL;
    Gmm *g = calloc(1, sizeof(Gmm));
    if (!g) return NULL;
    double *block = malloc((size_t)(hist + scratch) * sizeof(double));
    g->component_class = malloc((size_t)K * sizeof(int));
    if (!block || !g->component_class) {
        free(block);
        free(g->component_class);
        free(g);
        return NULL;
    }
    g->k = k, g->d = d, g->cap = (int)cap, g->len = 0, g->reg = 1e-6;
    double *p = block;
    g->w = p, p += cap * K;
    g->mu = p, p += cap * K * D;
    g->cov = p, p += cap * K * D * D;
    g->ll = p, p += cap;
    g->obj = p, p += cap;
    g->chol = p, p += K * D * D;
    g->logc = p, p += K;
    g->nk = p, p += K;
    g->s1 = p, p += K * D;
    g->s2 = p, p += K * D * D;
    g->lp = p;
    for (int j = 0; j < k; j++) g->component_class[j] = j;
    return g;
}

void gmm_free(Gmm *g) {
    if (!g) return;
    free(g->w); // the start of the one history + scratch block
    free(g->component_class);
    free(g->lab_x);
    free(g->lab_y);
    free(g);
}

int gmm_k(const Gmm *g) { return g ? g->k : LL_EINVAL; }
int gmm_d(const Gmm *g) { return g ? g->d : LL_EINVAL; }

int gmm_set_component_classes(Gmm *g, const int *component_class) {
    if (!g) return LL_EINVAL;
    if (component_class)
        for (int j = 0; j < g->k; j++)
            if (component_class[j] < 0) return LL_EINVAL;
    for (int j = 0; j < g->k; j++) g->component_class[j] = component_class ? component_class[j] : j;
    return LL_OK;
}

int gmm_component_class(const Gmm *g, int j) {
    if (!g || j < 0 || j >= g->k) return LL_EINVAL;
    return g->component_class[j];
}

void gmm_set_reg(Gmm *g, double reg) {
    if (g && isfinite(reg) && reg >= 0) g->reg = reg;
}

// ----------------------------------------------------------------------------
// initialisations (all write slot 0, then begin_history)

int gmm_init_params(Gmm *g, const float *weights, const float *means, const float *covs) {
    if (!g || !weights || !means || !covs) return LL_EINVAL;
    int K = g->k, D = g->d;
    if (!all_finite(weights, K) || !all_finite(means, (size_t)K * D) || !all_finite(covs, (size_t)K * D * D))
        return LL_ENONFINITE;
    double wsum = 0;
    for (int j = 0; j < K; j++) {
        if (!(weights[j] > 0)) return LL_EINVAL;
        wsum += weights[j];
    }
    for (int j = 0; j < K; j++) {
        const float *c = covs + (size_t)j * D * D;
        double a[GMM_MAX_D * GMM_MAX_D], L[GMM_MAX_D * GMM_MAX_D];
        for (int i = 0; i < D * D; i++) a[i] = c[i];
        for (int i = 0; i < D; i++)
            for (int p = 0; p < i; p++) // symmetric up to float rounding of what the caller typed
                if (fabs(a[i * D + p] - a[p * D + i]) > 1e-5 * (fabs(a[i * D + p]) + fabs(a[p * D + i])))
                    return LL_EINVAL;
        if (!cholesky(L, a, D, 0.0)) return LL_EINVAL; // not positive definite
    }
    for (int j = 0; j < K; j++) g->w[j] = weights[j] / wsum;
    for (size_t i = 0; i < (size_t)K * D; i++) g->mu[i] = means[i];
    for (size_t i = 0; i < (size_t)K * D * D; i++) g->cov[i] = covs[i];
    return begin_history(g);
}

static void identity_covs(Gmm *g, double scale) {
    int K = g->k, D = g->d;
    memset(g->cov, 0, sizeof(double) * K * D * D);
    for (int j = 0; j < K; j++)
        for (int i = 0; i < D; i++) g->cov[((size_t)j * D + i) * D + i] = scale;
}

// Lloyd's k-means on the points idx[0..n) of x, k centres (k, D) updated in place; assign (n) scratch.
// A centre that loses all its points stays put.
static void lloyd(double *centres, int k, const float *x, const int *idx, int n, int d, int *assign, int iters) {
    for (int i = 0; i < n; i++) assign[i] = -1;
    for (int it = 0; it < iters; it++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            int a = nearest(x + (size_t)(idx ? idx[i] : i) * d, centres, k, d);
            if (a != assign[i]) assign[i] = a, changed = 1;
        }
        if (!changed) break;
        for (int j = 0; j < k; j++) {
            double c[GMM_MAX_D] = {0};
            int cnt = 0;
            for (int i = 0; i < n; i++) {
                if (assign[i] != j) continue;
                const float *xi = x + (size_t)(idx ? idx[i] : i) * d;
                for (int p = 0; p < d; p++) c[p] += xi[p];
                cnt++;
            }
            if (cnt)
                for (int p = 0; p < d; p++) centres[(size_t)j * d + p] = c[p] / cnt;
        }
    }
}

// Offset number r: 0.1, 0.1, -0.15, -0.15, 0.2, ... along axes r % D, so every r gives a distinct point.
static void nudge(double *m, int r, int d) { m[r % d] += 0.1 * (1.0 + 0.5 * (r / d)) * ((r / d) % 2 ? -1.0 : 1.0); }

int gmm_init_labelled(Gmm *g, const float *x, const int *y, int n, int n_classes) {
    if (!g || !x || !y || n < 1 || n_classes < 1 || g->k % n_classes != 0) return LL_EINVAL;
    int K = g->k, D = g->d, m = K / n_classes;
    if (!all_finite(x, (size_t)n * D)) return LL_ENONFINITE;
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes) return LL_EINVAL;
    for (int c = 0; c < n_classes; c++) { // every class needs a point; checked before slot 0 is touched
        int i = 0;
        while (i < n && y[i] != c) i++;
        if (i == n) return LL_EINVAL;
    }
    int *idx = malloc(sizeof(int) * 2 * (size_t)n); // points of one class, then Lloyd assignments
    if (!idx) return LL_ENOMEM;
    for (int c = 0; c < n_classes; c++) {
        int nc = 0;
        double mean[GMM_MAX_D] = {0};
        for (int i = 0; i < n; i++)
            if (y[i] == c) {
                idx[nc++] = i;
                for (int p = 0; p < D; p++) mean[p] += x[(size_t)i * D + p];
            }
        for (int p = 0; p < D; p++) mean[p] /= nc;
        double *mu = g->mu + (size_t)c * m * D; // this class's m means
        if (m == 1) {
            memcpy(mu, mean, sizeof(double) * D); // exactly the authors' few-shot init
        } else if (nc < m) {
            // too few points to spread over: class mean + distinct offsets
            for (int r = 0; r < m; r++) {
                memcpy(mu + (size_t)r * D, mean, sizeof(double) * D);
                nudge(mu + (size_t)r * D, r, D);
            }
        } else {
            // farthest-point: start at the point nearest the class mean, then repeatedly take the point farthest
            // from those chosen; then Lloyd inside the class moves each mean to the centre of its mode
            int first = 0;
            for (int i = 1; i < nc; i++)
                if (sqdist(x + (size_t)idx[i] * D, mean, D) < sqdist(x + (size_t)idx[first] * D, mean, D)) first = i;
            for (int p = 0; p < D; p++) mu[p] = x[(size_t)idx[first] * D + p];
            for (int r = 1; r < m; r++) {
                int best = 0;
                double bd = -1;
                for (int i = 0; i < nc; i++) {
                    double dmin = INFINITY;
                    for (int q = 0; q < r; q++) dmin = fmin(dmin, sqdist(x + (size_t)idx[i] * D, mu + (size_t)q * D, D));
                    if (dmin > bd) bd = dmin, best = i;
                }
                for (int p = 0; p < D; p++) mu[(size_t)r * D + p] = x[(size_t)idx[best] * D + p];
                if (bd == 0) nudge(mu + (size_t)r * D, r, D); // only duplicates left: identical means never separate
            }
            lloyd(mu, m, x, idx, nc, D, idx + n, LLOYD_ITERS);
        }
    }
    free(idx);
    for (int j = 0; j < K; j++) g->component_class[j] = j / m;
    for (int j = 0; j < K; j++) g->w[j] = 1.0 / K;
    identity_covs(g, 1.0);
    return begin_history(g);
}

int gmm_init_kmeanspp(Gmm *g, const float *x, int n, unsigned long long seed) {
    if (!g || !x || n < g->k) return LL_EINVAL;
    int K = g->k, D = g->d;
    if (!all_finite(x, (size_t)n * D)) return LL_ENONFINITE;
    double *d2 = malloc(sizeof(double) * (size_t)n);
    int *assign = malloc(sizeof(int) * (size_t)n);
    if (!d2 || !assign) {
        free(d2);
        free(assign);
        return LL_ENOMEM;
    }
    uint64_t rng = seed;
    double *mu = g->mu;
    // k-means++: first centre uniform, each next one drawn with probability proportional to the squared distance
    // to the nearest centre so far (uniform again if every point already sits on a centre)
    int pick = (int)(uniform01(&rng) * n);
    for (int c = 0; c < K; c++) {
        for (int p = 0; p < D; p++) mu[(size_t)c * D + p] = x[(size_t)pick * D + p];
        if (c == K - 1) break;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double dd = sqdist(x + (size_t)i * D, mu + (size_t)c * D, D);
            d2[i] = (c == 0 || dd < d2[i]) ? dd : d2[i];
            total += d2[i];
        }
        if (total > 0) {
            double u = uniform01(&rng) * total, acc = 0;
            pick = n - 1; // if rounding leaves u above the last partial sum
            for (int i = 0; i < n; i++)
                if ((acc += d2[i]) > u) {
                    pick = i;
                    break;
                }
        } else {
            pick = (int)(uniform01(&rng) * n);
        }
    }
    lloyd(mu, K, x, NULL, n, D, assign, LLOYD_ITERS);
    for (int i = 0; i < n; i++) assign[i] = nearest(x + (size_t)i * D, mu, K, D);

    // data variance, averaged over dims: the covariance scale of clusters too small to have their own
    double var = 0, mean[GMM_MAX_D] = {0};
    for (int i = 0; i < n; i++)
        for (int p = 0; p < D; p++) mean[p] += x[(size_t)i * D + p];
    for (int p = 0; p < D; p++) mean[p] /= n;
    for (int i = 0; i < n; i++) var += sqdist(x + (size_t)i * D, mean, D);
    var /= (double)n * D;
    if (!(var > 0)) var = 1.0; // all points identical: any scale will do, EM shrinks it

    zero_stats(g);
    for (int i = 0; i < n; i++) accumulate(g, assign[i], 1.0, x + (size_t)i * D, mu + (size_t)assign[i] * D);
    int rc = LL_OK;
    for (int j = 0; j < K && rc == LL_OK; j++) {
        double *mj = mu + (size_t)j * D, *cj = g->cov + (size_t)j * D * D;
        if (g->nk[j] >= D + 1) {
            double m[GMM_MAX_D];
            memcpy(m, mj, sizeof(double) * D);
            if (!moments(g, j, m, mj, cj)) rc = LL_ENONFINITE;
        } else {
            memset(cj, 0, sizeof(double) * D * D);
            for (int p = 0; p < D; p++) cj[p * D + p] = var + g->reg;
        }
    }
    set_weights(g->w, g->nk, K, n);
    free(d2);
    free(assign);
    if (rc != LL_OK) {
        g->len = 0; // slot 0 is half written: the mixture is uninitialised (needs finite x, so unreachable)
        return rc;
    }
    return begin_history(g);
}

// ----------------------------------------------------------------------------
// EM

int gmm_set_labelled(Gmm *g, const float *x, const int *y, int n) {
    if (!g || n < 0 || (n > 0 && (!x || !y))) return LL_EINVAL;
    int D = g->d;
    if (n > 0 && !all_finite(x, (size_t)n * D)) return LL_ENONFINITE;
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < g->k && !found; j++) found = g->component_class[j] == y[i];
        if (!found) return LL_EINVAL;
    }
    float *nx = NULL;
    int *ny = NULL;
    if (n > 0) {
        nx = malloc(sizeof(float) * (size_t)n * D);
        ny = malloc(sizeof(int) * (size_t)n);
        if (!nx || !ny) {
            free(nx);
            free(ny);
            return LL_ENOMEM;
        }
        memcpy(nx, x, sizeof(float) * (size_t)n * D);
        memcpy(ny, y, sizeof(int) * (size_t)n);
    }
    free(g->lab_x);
    free(g->lab_y);
    g->lab_x = nx, g->lab_y = ny, g->n_lab = n;
    return LL_OK;
}

int gmm_step(Gmm *g, const float *x, int n) {
    if (!g || !x || n < 1 || g->len < 1 || g->len >= g->cap) return LL_EINVAL;
    int K = g->k, D = g->d;
    if (!all_finite(x, (size_t)n * D)) return LL_ENONFINITE;
    size_t t = (size_t)g->len - 1;
    const double *mu = g->mu + t * K * D, *cov = g->cov + t * K * D * D;
    double *lp = g->lp;

    // E-step on the unlabelled points: r_ik = exp(lp_ik - logsumexp_k lp_ik); the sum of the logsumexps is the
    // log-likelihood of entry t, which costs nothing extra here
    zero_stats(g);
    double ll = 0, total = n;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * D;
        double lse = log_joint(g, xi, lp);
        ll += lse;
        if (!isfinite(lse)) continue; // a point infinitely far from every component (cannot happen for sane data)
        for (int j = 0; j < K; j++) accumulate(g, j, exp(lp[j] - lse), xi, mu + (size_t)j * D);
    }
    // labelled points: responsibility only on their class's components, renormalised within the class
    double ll_lab = 0;
    for (int i = 0; i < g->n_lab; i++) {
        const float *xi = g->lab_x + (size_t)i * D;
        int c = g->lab_y[i];
        log_joint(g, xi, lp);
        double lse_c = class_lse(g, lp, c);
        if (!isfinite(lse_c)) continue; // the class lost its components since gmm_set_labelled
        for (int j = 0; j < K; j++)
            if (g->component_class[j] == c) accumulate(g, j, exp(lp[j] - lse_c), xi, mu + (size_t)j * D);
        ll_lab += lse_c, total += 1;
    }
    if (isnan(g->ll[t])) g->ll[t] = ll / n, g->obj[t] = (ll + ll_lab) / total;

    // M-step into slot t+1; len only grows once the entry is complete and finite
    double *w1 = g->w + (t + 1) * K, *mu1 = g->mu + (t + 1) * K * D, *cov1 = g->cov + (t + 1) * K * D * D;
    for (int j = 0; j < K; j++) {
        size_t o1 = (size_t)j * D, o2 = (size_t)j * D * D;
        if (g->nk[j] < NK_EMPTY) { // no points: keep the previous mean and covariance, weight W_MIN below
            memcpy(mu1 + o1, mu + o1, sizeof(double) * D);
            memcpy(cov1 + o2, cov + o2, sizeof(double) * D * D);
            g->nk[j] = 0;
        } else if (!moments(g, j, mu + o1, mu1 + o1, cov1 + o2)) {
            return LL_ENONFINITE;
        }
    }
    set_weights(w1, g->nk, K, total);
    for (size_t i = 0; i < (size_t)K * D; i++)
        if (!isfinite(mu1[i])) return LL_ENONFINITE;
    g->len++;
    int rc = refactor(g);
    if (rc != LL_OK) { // unreachable when floor_cov succeeded; restore entry t's factors
        g->len--;
        refactor(g);
        return LL_ENONFINITE;
    }
    g->ll[t + 1] = mean_loglik(g, x, n, lp);
    int used = 0;
    ll_lab = g->n_lab ? labelled_loglik_sum(g, lp, &used) : 0;
    g->obj[t + 1] = (g->ll[t + 1] * n + ll_lab) / (n + used);
    return LL_OK;
}

int gmm_fit(Gmm *g, const float *x, int n, int max_iter, double tol) {
    if (!g || max_iter < 1 || g->len < 1 || g->len >= g->cap || isnan(tol)) return LL_EINVAL;
    int room = g->cap - g->len, iters = max_iter < room ? max_iter : room;
    for (int it = 0; it < iters; it++) {
        int rc = gmm_step(g, x, n);
        if (rc != LL_OK) return rc; // the entries written so far stay in the history
        // the objective, not ll: with labelled points the unlabelled likelihood alone may fall while EM improves
        if (g->obj[g->len - 1] - g->obj[g->len - 2] < tol) return it + 1;
    }
    return iters;
}

// ----------------------------------------------------------------------------
// history and prediction

int gmm_history_len(const Gmm *g) { return g ? g->len : LL_EINVAL; }

int gmm_get(const Gmm *g, int t, float *weights, float *means, float *covs, double *loglik) {
    if (!g || t < 0 || t >= g->len) return LL_EINVAL;
    size_t K = g->k, D = g->d;
    for (size_t i = 0; weights && i < K; i++) weights[i] = (float)g->w[t * K + i];
    for (size_t i = 0; means && i < K * D; i++) means[i] = (float)g->mu[t * K * D + i];
    for (size_t i = 0; covs && i < K * D * D; i++) covs[i] = (float)g->cov[t * K * D * D + i];
    if (loglik) *loglik = g->ll[t];
    return LL_OK;
}

double gmm_objective(const Gmm *g, int t) { return g && t >= 0 && t < g->len ? g->obj[t] : NAN; }

int gmm_predict(const Gmm *g, const float *x, int n, int *component_out, int *class_out, float *resp_out) {
    if (!g || !x || n < 1 || g->len < 1) return LL_EINVAL;
    int K = g->k, D = g->d;
    if (!all_finite(x, (size_t)n * D)) return LL_ENONFINITE;
    double *lp = malloc(sizeof(double) * K); // g is const: its own scratch is not ours to write
    if (!lp) return LL_ENOMEM;
    for (int i = 0; i < n; i++) {
        double lse = log_joint(g, x + (size_t)i * D, lp);
        int best = 0;
        for (int j = 1; j < K; j++)
            if (lp[j] > lp[best]) best = j;
        if (component_out) component_out[i] = best;
        if (class_out) class_out[i] = g->component_class[best];
        for (int j = 0; resp_out && j < K; j++)
            resp_out[(size_t)i * K + j] = isfinite(lse) ? (float)exp(lp[j] - lse) : (j == best);
    }
    free(lp);
    return LL_OK;
}

double gmm_mean_loglik(const Gmm *g, const float *x, int n) {
    if (!g || !x || n < 1 || g->len < 1 || !all_finite(x, (size_t)n * g->d)) return NAN;
    double *lp = malloc(sizeof(double) * g->k);
    if (!lp) return NAN;
    double ll = mean_loglik(g, x, n, lp);
    free(lp);
    return ll;
}
