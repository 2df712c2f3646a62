// A counter-based random number generator: every draw is a pure function of (seed, stream, a, b),
// so a noise sample depends on which image and which step it is for, not on how many draws came
// before. That keeps runs identical in Node and in a browser, and across any split of a batch.
#ifndef LL_RNG_H
#define LL_RNG_H

#include <stdint.h>

enum { RNG_INIT = 1, RNG_TRAIN_NOISE = 2, RNG_EVAL_NOISE = 3, RNG_SPLIT = 4 };

uint64_t rng_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
// Uniform in the open interval (0, 1), 53 bits.
double rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
// Two independent standard normals (Box-Muller).
void rng_normal2(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, float out[2]);

#endif
