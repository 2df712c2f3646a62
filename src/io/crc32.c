// CRC-32 with a 256-entry table built on first use (a slice-by-one loop: a few hundred MB/s is plenty
// for files read once). Not here: any other checksum (Adler-32 is zlib's, not used by gzip or zip).
#include "io/crc32.h"

static uint32_t table[256];
static int table_ready;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    if (!table_ready) build_table();
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
