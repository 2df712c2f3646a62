// A dataset from one or two parsed data files: images as 28 x 28 bytes, labels 0..9 or none.
// Accepted: an npz (or npy) whose 'data' is (N, 28, 28) or (N, 784), uint8 0..255 or float32/float64 in
// [0, 1], with optional integer 'labels' (N,) in 0..9; or IDX images (N, 28, 28) (or (N, 784)) with
// optional IDX labels (N), in either order. Not here: parsing files (io/datafile.c), splits, classes.
#ifndef LL_IO_DATASET_H
#define LL_IO_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "io/datafile.h"

#define DATASET_PIXELS 784
#define DATASET_MAX_LABEL 9

typedef struct {
    size_t n;                  // images, >= 1
    const uint8_t *images;     // (n, 784) row-major, 0..255
    const uint8_t *labels;     // (n) in 0..9, or NULL for unlabelled data
    uint8_t *owned_images, *owned_labels;   // converted copies (float images, wider labels), else NULL
} Dataset;

// Builds d from a and optionally b (NULL). uint8 arrays are used in place, so d borrows from the files:
// free d before them. Floats are mapped to bytes as round(255 * x) (the model sees x' = round(255 x) / 255,
// within 1/510 of x), so one image type serves the whole pipeline. LL_OK, or LL_EFORMAT (LL_ENOMEM)
// with a message naming the file and what is wrong in err, and d empty.
int dataset_build(Dataset *d, const DataFile *a, const DataFile *b, char *err, size_t errlen);
void dataset_free(Dataset *d);

#endif
