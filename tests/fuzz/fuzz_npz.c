// libFuzzer target: npz archives and the NPY files in them. Any input is opened as a data file
// (zip directory, entries inflated with a 16 MiB limit, NPY headers, the dataset builder's checks)
// and parsed as a bare NPY file; both must refuse or accept it without a sanitizer report.
#include <stdint.h>
#include <stdlib.h>

#include "io/datafile.h"
#include "io/dataset.h"
#include "io/npy.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[400];
    NpyArray a;
    if (npy_parse(&a, data, size, "fuzz.npy", err, sizeof err) == LL_OK && a.count) {
        volatile double sink = npy_get(&a, a.count - 1);   // the last element must be readable
        (void)sink;
    }
    DataFile f;
    if (datafile_open(&f, data, size, "fuzz.npz", 1u << 24, err, sizeof err) == LL_OK) {
        Dataset d;
        if (dataset_build(&d, &f, NULL, err, sizeof err) == LL_OK) {
            volatile uint8_t sink = d.images[d.n * DATASET_PIXELS - 1];
            if (d.labels) sink = d.labels[d.n - 1];
            (void)sink;
            dataset_free(&d);
        }
        datafile_free(&f);
    }
    return 0;
}
