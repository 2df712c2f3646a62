// splitmix64's finaliser chained over the counter words: cheap, and good enough for noise and init.
#include "rng.h"

#include <math.h>

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
    const uint64_t golden = 0x9e3779b97f4a7c15ULL;
    uint64_t h = mix64(seed + golden);
    h = mix64(h ^ (stream + golden));
    h = mix64(h ^ (a + 2 * golden));
    return mix64(h ^ (b + 3 * golden));
}

double rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
    return ((double)(rng_hash(seed, stream, a, b) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void rng_normal2(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, float out[2]) {
    double u1 = rng_uniform(seed, stream, a, 2 * b);
    double u2 = rng_uniform(seed, stream, a, 2 * b + 1);
    double r = sqrt(-2.0 * log(u1)), theta = 6.283185307179586 * u2;
    out[0] = (float)(r * cos(theta));
    out[1] = (float)(r * sin(theta));
}
