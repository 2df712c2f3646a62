// Confusion matrix, accuracy / macro precision-recall-F1, and brute-force kNN.
// kNN keeps a top-k list sorted by insertion (k is small) and allocates once per call, not per test point.
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

int confusion_matrix(int *cm, const int *truth, const int *pred, int n, int n_classes) {
    if (!cm || n < 0 || n_classes < 1 || (n > 0 && (!truth || !pred))) return LL_EINVAL;
    for (int i = 0; i < n; i++)
        if (truth[i] < 0 || truth[i] >= n_classes || pred[i] < 0 || pred[i] >= n_classes) return LL_EINVAL;
    memset(cm, 0, sizeof(int) * (size_t)n_classes * n_classes);
    for (int i = 0; i < n; i++) cm[(size_t)truth[i] * n_classes + pred[i]]++;
    return LL_OK;
}

void classification_scores(const int *cm, int n_classes, float *accuracy, float *macro_precision, float *macro_recall,
                           float *macro_f1) {
    int C = n_classes;
    double total = 0, correct = 0, sp = 0, sr = 0, sf = 0;
    for (int c = 0; c < C; c++) {
        double tp = cm[(size_t)c * C + c], row = 0, col = 0; // row: true c; col: predicted c
        for (int o = 0; o < C; o++) row += cm[(size_t)c * C + o], col += cm[(size_t)o * C + c];
        double p = col > 0 ? tp / col : 0, r = row > 0 ? tp / row : 0;
        sp += p, sr += r, sf += p + r > 0 ? 2 * p * r / (p + r) : 0;
        total += row, correct += tp;
    }
    if (accuracy) *accuracy = total > 0 ? (float)(correct / total) : 0.0f;
    if (macro_precision) *macro_precision = C > 0 ? (float)(sp / C) : 0.0f;
    if (macro_recall) *macro_recall = C > 0 ? (float)(sr / C) : 0.0f;
    if (macro_f1) *macro_f1 = C > 0 ? (float)(sf / C) : 0.0f;
}

int knn_classify(int *pred, const float *train_x, const int *train_y, int n_train, const float *test_x, int n_test,
                 int d, int k, int n_classes) {
    if (!pred || !train_x || !train_y || !test_x || n_train < 1 || n_test < 0 || d < 1 || k < 1 || k > n_train ||
        n_classes < 1)
        return LL_EINVAL;
    for (int i = 0; i < n_train; i++)
        if (train_y[i] < 0 || train_y[i] >= n_classes) return LL_EINVAL;
    for (size_t i = 0; i < (size_t)n_train * d; i++)
        if (!isfinite(train_x[i])) return LL_ENONFINITE;
    for (size_t i = 0; i < (size_t)n_test * d; i++)
        if (!isfinite(test_x[i])) return LL_ENONFINITE;
    float *best_d = malloc(sizeof(float) * k); // (k) squared distances of the nearest so far, ascending
    int *best_y = malloc(sizeof(int) * k);     // (k) their labels
    int *votes = malloc(sizeof(int) * n_classes);
    if (!best_d || !best_y || !votes) {
        free(best_d), free(best_y), free(votes);
        return LL_ENOMEM;
    }
    for (int t = 0; t < n_test; t++) {
        const float *q = test_x + (size_t)t * d;
        int m = 0; // entries filled
        for (int i = 0; i < n_train; i++) {
            const float *x = train_x + (size_t)i * d;
            float dist = 0;
            for (int p = 0; p < d; p++) dist += (x[p] - q[p]) * (x[p] - q[p]);
            if (m == k && dist >= best_d[k - 1]) continue; // the common case: not among the k nearest
            int pos = m < k ? m++ : k - 1;
            while (pos > 0 && best_d[pos - 1] > dist) { // strict: an equal distance stays behind the earlier index
                best_d[pos] = best_d[pos - 1], best_y[pos] = best_y[pos - 1];
                pos--;
            }
            best_d[pos] = dist, best_y[pos] = train_y[i];
        }
        memset(votes, 0, sizeof(int) * n_classes);
        int top = 0;
        for (int j = 0; j < k; j++)
            if (++votes[best_y[j]] > top) top = votes[best_y[j]];
        // the nearest neighbour whose class has the top count decides among tied classes
        int j = 0;
        while (votes[best_y[j]] != top) j++;
        pred[t] = best_y[j];
    }
    free(best_d), free(best_y), free(votes);
    return LL_OK;
}
