// The benchmark's native reference: the same C as the wasm builds, compiled by gcc -O3, training
// batches of 32 synthetic binary images on one core. For profiling (`perf record build/bench_native`),
// not a target: the kernels' fast paths are WASM SIMD, so here the plain-C twins run, as gcc's
// auto-vectoriser sees them. Prints one JSON line: {"images_per_s": ..., "seconds": ...}.
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vae.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    enum { BATCH = 32 };
    static float images[BATCH * VAE_PIXELS];
    unsigned state = 12345;
    for (int i = 0; i < BATCH * VAE_PIXELS; i++) {
        state = state * 1664525u + 1013904223u;
        images[i] = (state >> 24) < 51 ? 1.0f : 0.0f; // about a fifth of the pixels lit, like MNIST
    }
    Vae *m = vae_create(42);
    if (!m) {
        fprintf(stderr, "bench_native: out of memory\n");
        return 1;
    }
    for (int i = 0; i < 3; i++) vae_train_batch(m, images, BATCH, NULL); // warm-up
    // Median of five windows, each about seconds/5 long.
    double rates[5];
    for (int w = 0; w < 5; w++) {
        double t0 = now();
        int steps = 0;
        do {
            vae_train_batch(m, images, BATCH, NULL);
            steps++;
        } while (now() - t0 < seconds / 5);
        rates[w] = steps * BATCH / (now() - t0);
    }
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            if (rates[j] < rates[i]) { double t = rates[i]; rates[i] = rates[j]; rates[j] = t; }
    printf("{\"images_per_s\": %.1f, \"seconds\": %.1f}\n", rates[2], seconds);
    vae_free(m);
    return 0;
}
