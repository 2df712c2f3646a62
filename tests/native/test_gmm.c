// Native checks for src/gmm.c and src/metrics.c, meant to run under ASan/UBSan. It asserts that EM recovers a known
// mixture from both initialisations with a non-decreasing likelihood, that labelled points keep components on their
// classes where plain EM goes wrong, that degenerate data and bad arguments give status codes and never NaN, and that
// the metrics match hand-computed values. Everything is seeded; prints each failure and a last "N passed, M failed".
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmm.h"
#include "metrics.h"
#include "status.h"
#include "check.h"


// ----------------------------------------------------------------------------
// sampling (D = 2)

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double uniform(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53; } // (0, 1)
static double normal(uint64_t *s) { return sqrt(-2.0 * log(uniform(s))) * cos(6.283185307179586 * uniform(s)); }

// x (n, 2), label (n) drawn from the mixture w (k), mu (k, 2), cov (k, 2, 2): x = mu + L z with cov = L L^T.
static void sample_mixture(float *x, int *label, int n, int k, const double *w, const double *mu, const double *cov,
                           uint64_t seed) {
    for (int i = 0; i < n; i++) {
        double u = uniform(&seed), acc = 0;
        int j = k - 1;
        for (int c = 0; c < k; c++)
            if (u < (acc += w[c])) {
                j = c;
                break;
            }
        const double *m = mu + 2 * j, *c = cov + 4 * j;
        double l00 = sqrt(c[0]), l10 = c[2] / l00, l11 = sqrt(c[3] - l10 * l10);
        double z0 = normal(&seed), z1 = normal(&seed);
        x[2 * i] = (float)(m[0] + l00 * z0);
        x[2 * i + 1] = (float)(m[1] + l10 * z0 + l11 * z1);
        label[i] = j;
    }
}

// The first `per` points of each of k labels: a few-shot labelled set xl (k*per, 2), yl (k*per).
static int pick_labelled(float *xl, int *yl, const float *x, const int *label, int n, int k, int per) {
    int m = 0;
    for (int c = 0; c < k; c++)
        for (int i = 0, got = 0; i < n && got < per; i++)
            if (label[i] == c) {
                xl[2 * m] = x[2 * i], xl[2 * m + 1] = x[2 * i + 1], yl[m++] = c;
                got++;
            }
    return m;
}

static int history_finite(const Gmm *g) {
    int K = gmm_k(g), D = gmm_d(g), ok = 1;
    float *buf = malloc(sizeof(float) * (K + K * D + K * D * D));
    for (int t = 0; t < gmm_history_len(g); t++) {
        double ll;
        gmm_get(g, t, buf, buf + K, buf + K + K * D, &ll);
        for (int i = 0; i < K + K * D + K * D * D; i++) ok &= isfinite(buf[i]) != 0;
        ok &= !isnan(ll) || (t == 0 && gmm_history_len(g) == 1);
    }
    free(buf);
    return ok;
}

static double class_accuracy(const Gmm *g, const float *x, const int *truth, int n) {
    int *cls = malloc(sizeof(int) * n), right = 0;
    gmm_predict(g, x, n, NULL, cls, NULL);
    for (int i = 0; i < n; i++) right += cls[i] == truth[i];
    free(cls);
    return (double)right / n;
}

// ----------------------------------------------------------------------------
// EM recovers a known mixture

// Truth: unequal weights, means 4-6 apart, anisotropic (one rotated, one axis-aligned thin) covariances.
static const double TW[3] = {0.5, 0.3, 0.2};
static const double TMU[6] = {-3.0, 0.0, 3.0, 1.0, 0.0, 4.5};
static const double TCOV[12] = {1.0, 0.6, 0.6, 0.8, 0.5, -0.2, -0.2, 1.2, 1.5, 0.0, 0.0, 0.3};

static void check_recovery(Tally *t, const char *name, Gmm *g, const float *x, int n) {
    int iters = gmm_fit(g, x, n, 200, 1e-6);
    check(t, iters > 0 && iters < 50, "%s: EM should converge (gain < 1e-6 per point) before 50 iterations, ran %d",
          name, iters);
    int T = gmm_history_len(g);
    check(t, T == iters + 1, "%s: history should hold init + %d iterations, has %d", name, iters, T);
    check(t, history_finite(g), "%s: history has a non-finite value", name);
    // EM never decreases the likelihood; 1e-9 absorbs rounding and the 1e-6 covariance floor
    double prev = -INFINITY, worst = 0;
    for (int s = 0; s < T; s++) {
        double ll;
        gmm_get(g, s, NULL, NULL, NULL, &ll);
        if (prev - ll > worst) worst = prev - ll;
        prev = ll;
    }
    check(t, worst <= 1e-9, "%s: log-likelihood decreased by %.3g between iterations", name, worst);

    float w[3], mu[6], cov[12];
    gmm_get(g, T - 1, w, mu, cov, NULL);
    // components come out in any order: match each true one to the nearest fitted mean
    int perm[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++) {
        double bd = INFINITY;
        for (int j = 0; j < 3; j++) {
            double dd = hypot(mu[2 * j] - TMU[2 * c], mu[2 * j + 1] - TMU[2 * c + 1]);
            if (dd < bd) bd = dd, perm[c] = j;
        }
    }
    check(t, perm[0] != perm[1] && perm[1] != perm[2] && perm[0] != perm[2], "%s: two true components share a fit",
          name);
    for (int c = 0; c < 3; c++) {
        int j = perm[c];
        // tolerances: weights 0.03 absolute, means 0.1 Euclidean, covariances 15% in Frobenius norm relative to truth
        // (n = 6000: standard errors are about 0.006, 0.04 and 5%, so these hold with margin for this seed)
        double dw = fabs(w[j] - TW[c]), dm = hypot(mu[2 * j] - TMU[2 * c], mu[2 * j + 1] - TMU[2 * c + 1]);
        double e = 0, nt = 0;
        for (int i = 0; i < 4; i++) e += pow(cov[4 * j + i] - TCOV[4 * c + i], 2), nt += pow(TCOV[4 * c + i], 2);
        double rel = sqrt(e / nt);
        check(t, dw <= 0.03, "%s: component %d weight %.4f, true %.2f", name, c, w[j], TW[c]);
        check(t, dm <= 0.1, "%s: component %d mean (%.3f, %.3f) is %.3f from the true one", name, c, mu[2 * j],
              mu[2 * j + 1], dm);
        check(t, rel <= 0.15, "%s: component %d covariance off by %.1f%%", name, c, 100 * rel);
    }
}

static void test_recovery(Tally *t) {
    enum { N = 6000 };
    float *x = malloc(sizeof(float) * N * 2);
    int *lab = malloc(sizeof(int) * N);
    sample_mixture(x, lab, N, 3, TW, TMU, TCOV, 1234);

    Gmm *g = gmm_create(3, 2, 200);
    check(t, gmm_init_kmeanspp(g, x, N, 42) == LL_OK, "k-means++ init failed");
    double ll0;
    gmm_get(g, 0, NULL, NULL, NULL, &ll0);
    check(t, isnan(ll0), "entry 0's log-likelihood should be NaN before the first step");
    check_recovery(t, "k-means++ init", g, x, N);
    gmm_free(g);

    float xl[30];
    int yl[15];
    int nl = pick_labelled(xl, yl, x, lab, N, 3, 5);
    g = gmm_create(3, 2, 200);
    check(t, gmm_init_labelled(g, xl, yl, nl, 3) == LL_OK, "labelled init failed");
    check_recovery(t, "labelled init", g, x, N);
    // labelled init fixes the order: component j should be the one of true class j
    float mu[6];
    gmm_get(g, gmm_history_len(g) - 1, NULL, mu, NULL, NULL);
    int in_order = 1;
    for (int c = 0; c < 3; c++) in_order &= hypot(mu[2 * c] - TMU[2 * c], mu[2 * c + 1] - TMU[2 * c + 1]) < 0.1;
    check(t, in_order, "labelled init: component j should stay on class j");
    check(t, class_accuracy(g, x, lab, N) > 0.97, "labelled init: class accuracy %.3f", class_accuracy(g, x, lab, N));
    gmm_free(g);
    free(x);
    free(lab);
}

// ----------------------------------------------------------------------------
// semi-supervised EM

// Class 0 is "elongated": two lobes at (-4, 0) and (4, 0); class 1 is a blob at (4, 3), nearer class 0's right lobe
// than class 0's own mean is. From the few-shot means (about (0, 0) and (4, 3)) plain EM hands the right lobe
// to class 1 (it is also the likelier two-Gaussian fit) -- accuracy about 2/3. With 2400 labelled points' responsibilities
// fixed, class 0's component has to span both lobes, and the right lobe's unlabelled points follow it (the Bayes
// accuracy here is about 0.99; with 600 labelled points this still fails, at 0.68).
static void test_semisupervised(Tally *t) {
    enum { N = 3000, NL = 2400 };
    const double w[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    const double mu[6] = {-4.0, 0.0, 4.0, 0.0, 4.0, 3.0};
    const double cov[12] = {0.5, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0, 0.5};
    float *x = malloc(sizeof(float) * N * 2), *xl = malloc(sizeof(float) * NL * 2);
    int *y = malloc(sizeof(int) * N), *yl = malloc(sizeof(int) * NL);
    sample_mixture(x, y, N, 3, w, mu, cov, 77);
    sample_mixture(xl, yl, NL, 3, w, mu, cov, 78);
    for (int i = 0; i < N; i++) y[i] = y[i] == 2; // lobes 0 and 1 are class 0, blob 2 is class 1
    for (int i = 0; i < NL; i++) yl[i] = yl[i] == 2;

    Gmm *plain = gmm_create(2, 2, 300), *semi = gmm_create(2, 2, 300);
    // the few-shot init: the first 5 labelled points of each class
    float fx[20];
    int fy[10], nf = pick_labelled(fx, fy, xl, yl, NL, 2, 5);
    check(t, gmm_init_labelled(plain, fx, fy, nf, 2) == LL_OK, "semi: few-shot init failed");
    check(t, gmm_init_labelled(semi, fx, fy, nf, 2) == LL_OK, "semi: few-shot init failed");
    check(t, gmm_set_labelled(semi, xl, yl, NL) == LL_OK, "semi: set_labelled failed");
    check(t, gmm_fit(plain, x, N, 300, 1e-8) > 0, "semi: plain EM failed");
    check(t, gmm_fit(semi, x, N, 300, 1e-8) > 0, "semi: semi-supervised EM failed");
    double acc_plain = class_accuracy(plain, x, y, N), acc_semi = class_accuracy(semi, x, y, N);
    // the first assertion shows the case is hard, so the second one could fail
    check(t, acc_plain < 0.8, "semi: plain EM should go wrong on this data (accuracy %.3f)", acc_plain);
    check(t, acc_semi > 0.95, "semi: labelled responsibilities should keep classes apart (accuracy %.3f, plain %.3f)",
          acc_semi, acc_plain);
    check(t, history_finite(semi), "semi: history has a non-finite value");
    // the unlabelled likelihood falls as components leave the likelier wrong fit; the joint objective must not
    double worst = 0, ll, ll_max = -INFINITY;
    for (int s = 0; s < gmm_history_len(semi); s++) {
        if (s > 0) worst = fmax(worst, gmm_objective(semi, s - 1) - gmm_objective(semi, s));
        gmm_get(semi, s, NULL, NULL, NULL, &ll);
        ll_max = fmax(ll_max, ll);
    }
    check(t, worst <= 1e-9, "semi: the EM objective decreased by %.3g", worst);
    check(t, ll < ll_max - 0.01, "semi: expected the unlabelled log-likelihood to peak and fall (%.4f, peak %.4f)", ll,
          ll_max);
    check(t, gmm_set_labelled(semi, NULL, NULL, 0) == LL_OK, "semi: clearing the labelled set failed");
    int bad = 5;
    check(t, gmm_set_labelled(semi, fx, &bad, 1) == LL_EINVAL, "semi: a label with no component should be refused");
    gmm_free(plain);
    gmm_free(semi);
    free(x), free(xl), free(y), free(yl);
}

// ----------------------------------------------------------------------------
// two components per class

// Three classes, each two lobes (6 well-separated blobs); K = 3*2 from 5 labelled points per lobe.
static void test_per_class(Tally *t) {
    enum { N = 4000 };
    const double w[6] = {0.2, 0.1, 0.15, 0.15, 0.25, 0.15};
    const double mu[12] = {-5, 0, -2, 4, 0, -4, 4, 3, 5, -2, -1, 8}; // lobes 2c, 2c+1 are class c
    double cov[24];
    for (int j = 0; j < 6; j++) cov[4 * j] = 0.5 + 0.1 * j, cov[4 * j + 1] = cov[4 * j + 2] = 0.1, cov[4 * j + 3] = 0.4;
    float *x = malloc(sizeof(float) * N * 2), xl[60];
    int *lobe = malloc(sizeof(int) * N), *y = malloc(sizeof(int) * N), yl[30];
    sample_mixture(x, lobe, N, 6, w, mu, cov, 99);
    int nl = pick_labelled(xl, yl, x, lobe, N, 6, 5);
    for (int i = 0; i < nl; i++) yl[i] /= 2;
    for (int i = 0; i < N; i++) y[i] = lobe[i] / 2;

    Gmm *g = gmm_create(6, 2, 100);
    check(t, gmm_init_labelled(g, xl, yl, nl, 3) == LL_OK, "per-class: labelled init failed");
    int classes_ok = 1;
    for (int j = 0; j < 6; j++) classes_ok &= gmm_component_class(g, j) == j / 2;
    check(t, classes_ok, "per-class: components 2c and 2c+1 should belong to class c");
    float m0[12];
    gmm_get(g, 0, NULL, m0, NULL, NULL);
    // farthest-point + Lloyd inside each class should put one initial mean per lobe
    int spread = 1;
    for (int j = 0; j < 6; j++) {
        double bd = INFINITY;
        for (int l = 0; l < 6; l++)
            if (l / 2 == j / 2) bd = fmin(bd, hypot(m0[2 * j] - mu[2 * l], m0[2 * j + 1] - mu[2 * l + 1]));
        spread &= bd < 1.0;
    }
    check(t, spread && hypot(m0[0] - m0[2], m0[1] - m0[3]) > 2, "per-class: initial means should sit on the lobes");
    check(t, gmm_fit(g, x, N, 100, 1e-6) > 0, "per-class: EM failed");
    double acc = class_accuracy(g, x, y, N);
    check(t, acc > 0.95, "per-class: class accuracy %.3f", acc);
    check(t, history_finite(g), "per-class: history has a non-finite value");
    gmm_free(g);

    // fewer labelled points than components per class: class mean + offsets, still distinct means
    float xs[4] = {0, 0, 5, 5};
    int ys[2] = {0, 1};
    g = gmm_create(6, 2, 10);
    check(t, gmm_init_labelled(g, xs, ys, 2, 2) == LL_OK, "per-class: init with 1 point for 3 components failed");
    gmm_get(g, 0, NULL, m0, NULL, NULL);
    check(t, m0[0] != m0[2] || m0[1] != m0[3], "per-class: components of one class should not start identical");
    gmm_free(g);
    // enough points but all duplicates: the same
    float xd[8] = {1, 1, 1, 1, 1, 1, 4, 4};
    int yd[4] = {0, 0, 0, 1};
    g = gmm_create(4, 2, 10);
    check(t, gmm_init_labelled(g, xd, yd, 4, 2) == LL_OK, "per-class: init with duplicate points failed");
    gmm_get(g, 0, NULL, m0, NULL, NULL);
    check(t, m0[0] != m0[2] || m0[1] != m0[3], "per-class: duplicate points should not give identical means");
    gmm_free(g);
    free(x), free(lobe), free(y);
}

// ----------------------------------------------------------------------------
// degenerate data

static void test_degenerate(Tally *t) {
    // all points identical: covariances collapse onto the floor, the density is large but finite
    float same[200];
    for (int i = 0; i < 100; i++) same[2 * i] = 1.5f, same[2 * i + 1] = -2.0f;
    Gmm *g = gmm_create(3, 2, 30);
    check(t, gmm_init_kmeanspp(g, same, 100, 1) == LL_OK, "identical points: k-means++ init failed");
    int rc = gmm_fit(g, same, 100, 30, 1e-9);
    check(t, rc > 0, "identical points: fit returned %d", rc);
    check(t, history_finite(g), "identical points: NaN or inf in history");
    gmm_free(g);

    // fewer points than components: k-means++ refuses, EM from explicit parameters runs
    float two[4] = {0, 0, 1, 1};
    const float w[3] = {1, 1, 1}, mu[6] = {0, 0, 1, 1, 2, 2}, cov[12] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1};
    g = gmm_create(3, 2, 20);
    check(t, gmm_init_kmeanspp(g, two, 2, 1) == LL_EINVAL, "2 points, 3 components: k-means++ should be EINVAL");
    check(t, gmm_init_params(g, w, mu, cov) == LL_OK, "init_params failed");
    rc = gmm_fit(g, two, 2, 20, 1e-9);
    check(t, rc > 0, "2 points, 3 components: fit returned %d", rc);
    check(t, history_finite(g), "2 points, 3 components: NaN or inf in history");
    gmm_free(g);

    // a component far from all data loses every point: keeps its mean and covariance, gets a tiny weight
    float pts[400];
    uint64_t s = 5;
    for (int i = 0; i < 400; i++) pts[i] = (float)normal(&s);
    const float mu_far[6] = {-0.5f, 0, 0.5f, 0, 1000, 1000};
    g = gmm_create(3, 2, 20);
    check(t, gmm_init_params(g, w, mu_far, cov) == LL_OK, "init_params failed");
    check(t, gmm_fit(g, pts, 200, 10, 1e-9) > 0, "far component: fit failed");
    float wt[3], mt[6];
    gmm_get(g, gmm_history_len(g) - 1, wt, mt, NULL, NULL);
    check(t, wt[2] < 1e-6 && mt[4] == 1000 && mt[5] == 1000,
          "far component: should keep mean (1000, 1000) with tiny weight, has (%g, %g) weight %g", mt[4], mt[5], wt[2]);
    check(t, history_finite(g), "far component: NaN or inf in history");
    gmm_free(g);

    // points on a line: the per-component covariance is singular before the floor
    float line[200];
    for (int i = 0; i < 100; i++) line[2 * i] = (float)i / 10, line[2 * i + 1] = 2.0f * i / 10;
    g = gmm_create(2, 2, 20);
    gmm_set_reg(g, 0.0); // only the eigen-collapse guard stands between this and a singular matrix
    check(t, gmm_init_kmeanspp(g, line, 100, 3) == LL_OK, "line: k-means++ init failed");
    check(t, gmm_fit(g, line, 100, 20, 1e-9) > 0, "line: fit failed");
    check(t, history_finite(g), "line: NaN or inf in history");
    gmm_free(g);
}

// ----------------------------------------------------------------------------
// bad arguments

static void test_bad_args(Tally *t) {
    check(t, gmm_create(0, 2, 10) == NULL, "k = 0 should give NULL");
    check(t, gmm_create(2, 0, 10) == NULL, "d = 0 should give NULL");
    check(t, gmm_create(2, 17, 10) == NULL, "d = 17 should give NULL");
    check(t, gmm_create(2, 2, 0) == NULL, "max_iter = 0 should give NULL");
    check(t, gmm_create(2, 2, 10001) == NULL, "max_iter = 10001 should give NULL");
    check(t, gmm_create(1000000, 16, 10000) == NULL, "a history too large to address should give NULL");
    gmm_free(NULL);

    float x[8] = {0, 0, 1, 0, 0, 1, 5, 5};
    const float w[2] = {1, 1}, mu[4] = {0, 0, 1, 1}, cov[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    Gmm *g = gmm_create(2, 2, 3);
    check(t, gmm_step(g, x, 4) == LL_EINVAL, "step before any init should be EINVAL");
    check(t, gmm_predict(g, x, 4, NULL, NULL, NULL) == LL_EINVAL, "predict before any init should be EINVAL");
    check(t, isnan(gmm_mean_loglik(g, x, 4)), "mean_loglik before any init should be NaN");
    const float wneg[2] = {1, -1}, notpd[8] = {1, 0, 0, 1, 1, 2, 2, 1}, asym[8] = {1, 0, 0, 1, 1, 0.5f, 0, 1};
    check(t, gmm_init_params(g, wneg, mu, cov) == LL_EINVAL, "negative weight should be EINVAL");
    check(t, gmm_init_params(g, w, mu, notpd) == LL_EINVAL, "indefinite covariance should be EINVAL");
    check(t, gmm_init_params(g, w, mu, asym) == LL_EINVAL, "asymmetric covariance should be EINVAL");
    check(t, gmm_history_len(g) == 0, "failed inits should leave no history");
    check(t, gmm_init_params(g, w, mu, cov) == LL_OK, "init_params failed");
    check(t, gmm_step(g, x, 0) == LL_EINVAL, "n = 0 should be EINVAL");
    float xnan[8] = {0, 0, 1, 0, NAN, 1, 5, 5};
    check(t, gmm_step(g, xnan, 4) == LL_ENONFINITE, "NaN in x should be ENONFINITE");
    check(t, gmm_history_len(g) == 1, "a failed step should not add history");
    check(t, gmm_predict(g, xnan, 4, NULL, NULL, NULL) == LL_ENONFINITE, "predict: NaN in x should be ENONFINITE");
    check(t, gmm_init_kmeanspp(g, xnan, 4, 1) == LL_ENONFINITE, "k-means++: NaN in x should be ENONFINITE");
    check(t, gmm_fit(g, x, 4, 10, 0.0) == 3, "fit should stop when the history (3 iterations) is full");
    check(t, gmm_step(g, x, 4) == LL_EINVAL, "step with a full history should be EINVAL");
    check(t, gmm_get(g, 4, NULL, NULL, NULL, NULL) == LL_EINVAL, "get past the history should be EINVAL");
    int y3[4] = {0, 1, 0, 1}, ybad[4] = {0, 2, 0, 1}, yone[4] = {0, 0, 0, 0};
    Gmm *g3 = gmm_create(3, 2, 3);
    check(t, gmm_init_labelled(g3, x, y3, 4, 2) == LL_EINVAL, "K = 3, C = 2 should be EINVAL");
    gmm_free(g3);
    check(t, gmm_init_labelled(g, x, ybad, 4, 2) == LL_EINVAL, "label outside 0..C-1 should be EINVAL");
    check(t, gmm_init_labelled(g, x, yone, 4, 2) == LL_EINVAL, "a class with no point should be EINVAL");
    int cls_bad[2] = {0, -1};
    check(t, gmm_set_component_classes(g, cls_bad) == LL_EINVAL, "negative component class should be EINVAL");
    check(t, gmm_set_labelled(g, xnan, y3, 4) == LL_ENONFINITE, "NaN in labelled x should be ENONFINITE");
    gmm_free(g);
}

// ----------------------------------------------------------------------------
// metrics

static int near(float a, double b) { return fabs(a - b) < 1e-6; }

static void test_metrics(Tally *t) {
    // truth 0 0 0 0 1 1 1 2 2 2, pred 0 0 1 2 1 1 0 2 2 1 gives
    //   cm = [2 1 1; 1 2 0; 0 1 2]   (rows true, columns predicted)
    //   accuracy 6/10; precision (column) 2/3, 2/4, 2/3 -> macro 11/18; recall (row) 2/4, 2/3, 2/3 -> macro 11/18;
    //   F1 = 2PR/(P+R): 4/7, 4/7, 2/3 -> macro (4/7 + 4/7 + 2/3)/3 = 38/63
    const int truth[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, pred[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};
    const int want[9] = {2, 1, 1, 1, 2, 0, 0, 1, 2};
    int cm[9];
    check(t, confusion_matrix(cm, truth, pred, 10, 3) == LL_OK, "confusion_matrix failed");
    check(t, memcmp(cm, want, sizeof(want)) == 0, "confusion matrix differs from the hand-computed one");
    float acc, p, r, f;
    classification_scores(cm, 3, &acc, &p, &r, &f);
    check(t, near(acc, 0.6) && near(p, 11.0 / 18) && near(r, 11.0 / 18) && near(f, 38.0 / 63),
          "scores %.6f %.6f %.6f %.6f, want 0.6 %.6f %.6f %.6f", acc, p, r, f, 11.0 / 18, 11.0 / 18, 38.0 / 63);
    // a class never predicted: truth 0 1 1, pred 0 0 0 -> P = (1/3 + 0)/2, R = (1 + 0)/2, F1 = (1/2 + 0)/2
    const int t2[3] = {0, 1, 1}, p2[3] = {0, 0, 0};
    int cm2[4];
    confusion_matrix(cm2, t2, p2, 3, 2);
    classification_scores(cm2, 2, &acc, &p, &r, &f);
    check(t, near(acc, 1.0 / 3) && near(p, 1.0 / 6) && near(r, 0.5) && near(f, 0.25),
          "zero_division scores %.6f %.6f %.6f %.6f, want 1/3 1/6 1/2 1/4", acc, p, r, f);
    const int p3[3] = {0, 3, 0};
    check(t, confusion_matrix(cm2, t2, p3, 3, 2) == LL_EINVAL, "prediction outside 0..C-1 should be EINVAL");

    // kNN on a hand-checked case, k = 3. Train: (0,0) c0, (3,0) c1, (0,4) c2, (20,0) c0, (21,0) c0, (22,0) c1.
    // (0.5, 0.5): one vote each from (0,0) 0.71, (3,0) 2.55, (0,4) 3.54 -> tie -> nearest -> 0
    // (2.5, 0.2): (3,0) 0.54, (0,0) 2.51, (0,4) 4.55 -> tie -> 1;   (0, 3.5): (0,4) 0.5, (0,0) 3.5, (3,0) 4.6 -> 2
    // (22.5, 0): (22,0) c1 0.5, (21,0) c0 1.5, (20,0) c0 2.5 -> majority beats the nearest -> 0
    const float tx[12] = {0, 0, 3, 0, 0, 4, 20, 0, 21, 0, 22, 0};
    const int ty[6] = {0, 1, 2, 0, 0, 1};
    const float qx[8] = {0.5f, 0.5f, 2.5f, 0.2f, 0, 3.5f, 22.5f, 0};
    const int qwant[4] = {0, 1, 2, 0};
    int qp[4];
    check(t, knn_classify(qp, tx, ty, 6, qx, 4, 2, 3, 3) == LL_OK, "knn failed");
    check(t, memcmp(qp, qwant, sizeof(qwant)) == 0, "knn labels %d %d %d %d, want 0 1 2 0", qp[0], qp[1], qp[2], qp[3]);
    check(t, knn_classify(qp, tx, ty, 6, qx, 4, 2, 7, 3) == LL_EINVAL, "knn with k > n_train should be EINVAL");
    check(t, knn_classify(qp, tx, ty, 6, qx, 4, 2, 3, 2) == LL_EINVAL, "knn with a label >= C should be EINVAL");

    // two well-separated blobs at the sizes the page uses: 100% and in reasonable time
    enum { NTR = 18000, NTE = 3100 };
    const double w[2] = {0.5, 0.5}, mu[4] = {-5, 0, 5, 0}, cov[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    float *trx = malloc(sizeof(float) * NTR * 2), *tex = malloc(sizeof(float) * NTE * 2);
    int *try_ = malloc(sizeof(int) * NTR), *tey = malloc(sizeof(int) * NTE), *tep = malloc(sizeof(int) * NTE);
    sample_mixture(trx, try_, NTR, 2, w, mu, cov, 11);
    sample_mixture(tex, tey, NTE, 2, w, mu, cov, 12);
    check(t, knn_classify(tep, trx, try_, NTR, tex, NTE, 2, 15, 2) == LL_OK, "knn on blobs failed");
    int cmb[4];
    confusion_matrix(cmb, tey, tep, NTE, 2);
    classification_scores(cmb, 2, &acc, NULL, NULL, NULL);
    check(t, acc == 1.0f, "knn on separated blobs: accuracy %.4f", acc);
    free(trx), free(tex), free(try_), free(tey), free(tep);
}

int main(void) {
    Tally t = {0, 0};
    test_recovery(&t);
    test_semisupervised(&t);
    test_per_class(&t);
    test_degenerate(&t);
    test_bad_args(&t);
    test_metrics(&t);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    return t.failed != 0;
}
