// libFuzzer target: IDX files. Any input is parsed as an IDX file (and, if that works, built into a
// dataset alone: images checked, labels refused); the parsers must refuse or accept it without a
// sanitizer report, and an accepted file's data must lie inside the input.
#include <stdint.h>
#include <stdlib.h>

#include "io/datafile.h"
#include "io/dataset.h"
#include "io/idx.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[400];
    IdxArray a;
    if (idx_parse(&a, data, size, "fuzz.idx", 1u << 20, err, sizeof err) == LL_OK) {
        if (a.data < data || a.data + a.size > data + size) abort();
    }
    DataFile f;
    if (datafile_open(&f, data, size, "fuzz.idx", 1u << 20, err, sizeof err) == LL_OK) {
        Dataset d;
        if (dataset_build(&d, &f, NULL, err, sizeof err) == LL_OK) {
            volatile uint8_t sink = d.images[d.n * DATASET_PIXELS - 1];   // the last pixel must be readable
            (void)sink;
            dataset_free(&d);
        }
        datafile_free(&f);
    }
    return 0;
}
