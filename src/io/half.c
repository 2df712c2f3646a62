// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; binary32: 1, 8 (bias 127), 23.
#include "io/half.h"

#include <string.h>

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in float.
        float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return from_bits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
    return from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));          // 127 - 15 = 112
}

// Drops the low `shift` bits of m, rounding to nearest, ties to even.
static uint32_t round_shift(uint32_t m, int shift) {
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1u)));
}

uint16_t float_to_half(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x1ffu);  // NaN stays NaN
    if (a >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (the midpoint above 65504) rounds to inf
    if (a >= 0x38800000u) {
        // Normal half: rebias the exponent, round 23 mantissa bits to 10; a carry into the exponent
        // is the correct next binade.
        uint32_t h = ((a >> 23) - 112u) << 10 | ((a & 0x7fffffu) >> 13);
        uint32_t rem = a & 0x1fffu;
        return sign | (uint16_t)(h + (rem > 0x1000u || (rem == 0x1000u && (h & 1u))));
    }
    // Below 2^-14: a subnormal half, counted in units of 2^-24. a = m * 2^(e - 150) with the hidden
    // bit, so units = m * 2^(e - 126); shift >= 14. Beyond 24 bits of shift it is below half a unit.
    uint32_t e = a >> 23;
    if (e < 102) return sign;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    return sign | (uint16_t)round_shift(m, (int)(126u - e));
}
