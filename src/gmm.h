// Gaussian mixture (K components, full covariances, D <= 16 dims) fitted by EM, keeping every iteration's
// parameters so the page can replay the fit. Optional labelled points make it semi-supervised.
// Not here: choosing among several EM starts (create several Gmm objects for that) or any I/O.
//
// Letters: K components, D dimensions, N points, C classes, T history entries.
// Inputs are float; everything is computed and stored in double. Status codes come from status.h.
#ifndef LL_GMM_H
#define LL_GMM_H

typedef struct Gmm Gmm; // opaque; owns its history, scratch and copy of the labelled set

// K components, D <= 16 dims, room for max_iter <= 10000 EM iterations (max_iter + 1 entries).
// NULL on bad args, OOM, or if history + scratch would exceed 2 GiB.
Gmm *gmm_create(int k, int d, int max_iter);
void gmm_free(Gmm *g);
int gmm_k(const Gmm *g);
int gmm_d(const Gmm *g);

// component_class (K): component j belongs to class component_class[j] >= 0. NULL restores j -> j.
int gmm_set_component_classes(Gmm *g, const int *component_class);
// Class of component j, or LL_EINVAL.
int gmm_component_class(const Gmm *g, int j);

// --- initialisations: each resets the history to one entry (entry 0) holding the initial parameters

// weights (K) > 0, renormalised; means (K, D); covs (K, D, D) symmetric positive definite, used as given.
int gmm_init_params(Gmm *g, const float *weights, const float *means, const float *covs);
// Few-shot init from labelled x (N, D), y (N) in 0..C-1. K = C*m; components j*m .. j*m+m-1 belong to class j
// (sets the component classes). m == 1: class means. m > 1: farthest-point picks among the class's points, refined
// by Lloyd within the class (class mean + small fixed offsets if the class has fewer than m points).
// Identity covariances, equal weights. LL_EINVAL if K % C != 0 or a class has no point.
int gmm_init_labelled(Gmm *g, const float *x, const int *y, int n, int n_classes);
// k-means++ seeding (splitmix64 from seed, deterministic) + Lloyd; covariances per cluster (+ reg), or the data's
// mean variance times I for clusters with fewer than D+1 points; weights = cluster fractions. LL_EINVAL if N < K.
int gmm_init_kmeanspp(Gmm *g, const float *x, int n, unsigned long long seed);

// --- fitting

// Labelled x (N, D), y (N): their responsibilities are fixed to their class's components (shared within the class
// in proportion to w_k N(x | k)). Copied; kept across inits. n = 0 clears. LL_EINVAL if some y has no component of
// its class, so set the classes (or gmm_init_labelled) first.
int gmm_set_labelled(Gmm *g, const float *x, const int *y, int n);
// Covariance floor added to every diagonal in the M-step; default 1e-6. Ignored unless finite and >= 0.
void gmm_set_reg(Gmm *g, double reg);
// One EM iteration on unlabelled x (N, D) (plus the labelled set); appends one history entry.
// LL_EINVAL (no init yet, n < 1, history full), LL_ENONFINITE (x not finite). On error the history is unchanged.
int gmm_step(Gmm *g, const float *x, int n);
// gmm_step until max_iter iterations, the history is full, or gmm_objective gains less than tol per point (without
// labelled points that is the loglik of gmm_get). Returns the number of iterations run (>= 1) or a negative status.
int gmm_fit(Gmm *g, const float *x, int n, int max_iter, double tol);

// --- history: entry 0 = initial parameters, entry t = after t iterations

// Number of entries (0 before any init).
int gmm_history_len(const Gmm *g);
// Copies entry t out; any pointer may be NULL. weights (K), means (K, D), covs (K, D, D), loglik (1) = mean
// log-likelihood per unlabelled point of the x given to gmm_step. Entry 0's is NaN until the first gmm_step;
// entry t >= 1 gets its value in the step that created it.
int gmm_get(const Gmm *g, int t, float *weights, float *means, float *covs, double *loglik);
// What EM increases at entry t: the mean over unlabelled and labelled points of log p(x), resp. log p(x, class).
// Equals entry t's loglik when there are no labelled points; with them, loglik may fall while this rises.
// NaN when t is out of range or not yet computed (entry 0 before the first step).
double gmm_objective(const Gmm *g, int t);

// --- using the latest entry

// For x (N, D): most probable component (N), its class (N), responsibilities (N, K); any output may be NULL.
int gmm_predict(const Gmm *g, const float *x, int n, int *component_out, int *class_out, float *resp_out);
// Mean log-likelihood per point of x (N, D); NaN on bad args, non-finite x or OOM.
double gmm_mean_loglik(const Gmm *g, const float *x, int n);

#endif
