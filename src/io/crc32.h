// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum gzip and zip store.
#ifndef LL_IO_CRC32_H
#define LL_IO_CRC32_H

#include <stddef.h>
#include <stdint.h>

// Continues a CRC over n more bytes: crc32_update(0, ...) starts one; pass the result back in to extend it.
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n);

#endif
