// Native leak check, meant to run under AddressSanitizer, whose LeakSanitizer reports at exit any
// block still allocated: a model is created and freed 200 times, every TRAIN_EVERY-th one trained a
// step on a one-image batch first (a step costs about 0.5 s under ASan at -O1 and creation about 0.2 s,
// mostly the kernel zeroing its fresh pages: 1000 cycles took almost four minutes of the suite; any
// leak shows at exit after one cycle, and 20 steps cover the training path's allocations), and a
// dataset is parsed and freed 200 times. It asserts every call succeeds; a leak in any of those paths fails
// the binary at exit with LeakSanitizer's report (the allocation's stack).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "io/datafile.h"
#include "io/dataset.h"
#include "status.h"
#include "vae.h"

#define DEFAULT_CYCLES 200
#define TRAIN_EVERY 10

int main(int argc, char **argv) {
    int CYCLES = argc > 1 ? atoi(argv[1]) : DEFAULT_CYCLES;   // a count on the command line, for timing
    Tally t = {0};
    clock_t start = clock();
    float image[VAE_PIXELS];
    for (int p = 0; p < VAE_PIXELS; p++) image[p] = (float)(p % 28) / 27.0f;
    int failed = 0;
    for (int i = 0; i < CYCLES; i++) {
        Vae *m = vae_create((uint64_t)i);
        if (!m) { failed++; continue; }
        VaeSums sums;
        if (i % TRAIN_EVERY == 0 && vae_train_batch(m, image, 1, &sums) != LL_OK) failed++;
        vae_free(m);
    }
    check(&t, failed == 0, "%d of %d create/train/free cycles failed", failed, CYCLES);
    double model_s = (double)(clock() - start) / CLOCKS_PER_SEC;

    // An IDX file of 8 images, parsed into a dataset and freed.
    uint8_t file[16 + 8 * VAE_PIXELS] = {0, 0, 8, 3, 0, 0, 0, 8, 0, 0, 0, 28, 0, 0, 0, 28};
    failed = 0;
    for (int i = 0; i < CYCLES; i++) {
        DataFile f;
        Dataset d;
        char err[300];
        if (datafile_open(&f, file, sizeof file, "x.idx", DATA_MAX_BYTES, err, sizeof err) != LL_OK) { failed++; continue; }
        if (dataset_build(&d, &f, NULL, err, sizeof err) == LL_OK) dataset_free(&d);
        else failed++;
        datafile_free(&f);
    }
    check(&t, failed == 0, "%d of %d parse/free cycles failed", failed, CYCLES);
    printf("%d model create/free cycles (%d with a training step) in %.1f s; %d dataset parse/free cycles; "
           "LeakSanitizer checks at exit\n", CYCLES, (CYCLES + TRAIN_EVERY - 1) / TRAIN_EVERY, model_s, CYCLES);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    fflush(stdout);
    return t.failed != 0;
}
