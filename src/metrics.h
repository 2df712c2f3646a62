// Classification metrics for the latent-space classifiers: confusion matrix, accuracy and macro P/R/F1,
// and a brute-force k-nearest-neighbour baseline. Classes are indices 0..C-1 (the caller maps digits to them).
// Not here: probabilistic scores (log loss, AUC) or any index structure for kNN (brute force is fast enough at D = 2).
#ifndef LL_METRICS_H
#define LL_METRICS_H

// cm (C, C) of counts, row = true class, column = predicted class. LL_EINVAL if a label is outside 0..C-1.
int confusion_matrix(int *cm, const int *truth, const int *pred, int n, int n_classes);
// From cm (C, C): accuracy and the unweighted means over all C classes of precision, recall and per-class F1.
// A class never predicted has precision 0, one with no true sample recall 0 (sklearn's zero_division=0).
// Any output may be NULL.
void classification_scores(const int *cm, int n_classes, float *accuracy, float *macro_precision, float *macro_recall,
                           float *macro_f1);
// pred (n_test) by majority vote of the k nearest train_x (n_train, D) under Euclidean distance; a tie between
// classes goes to the class of the nearest neighbour among the tied ones, equal distances to the lower train index.
// LL_EINVAL (sizes, k > n_train, label outside 0..C-1), LL_ENONFINITE, LL_ENOMEM.
int knn_classify(int *pred, const float *train_x, const int *train_y, int n_train, const float *test_x, int n_test,
                 int d, int k, int n_classes);

#endif
