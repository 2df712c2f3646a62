// Little- and big-endian integers read from a byte buffer: the readers' one way to decode a field.
// The caller has checked that the bytes are there.
#ifndef LL_IO_BYTES_H
#define LL_IO_BYTES_H

#include <stdint.h>

static inline uint16_t read_u16le(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t read_u32le(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t read_u64le(const uint8_t *b) { return (uint64_t)read_u32le(b) | (uint64_t)read_u32le(b + 4) << 32; }
static inline uint32_t read_u32be(const uint8_t *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

#endif
