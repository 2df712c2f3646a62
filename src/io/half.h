// IEEE 754 binary16 <-> binary32, bit-exact and portable (no _Float16, no F16C).
// Not here: bfloat16, or any bulk conversion policy (the model glue decides what to refuse).
#ifndef LL_HALF_H
#define LL_HALF_H

#include <stdint.h>

// Exact: every half value (including subnormals, infinities and NaN) has a float twin.
float half_to_float(uint16_t h);
// Round to nearest, ties to even, as PyTorch's tensor.half() does; |x| >= 65520 becomes infinity,
// NaN stays NaN (quiet, sign kept).
uint16_t float_to_half(float x);

#endif
