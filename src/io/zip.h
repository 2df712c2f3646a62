// zip archives (PKWARE APPNOTE), as numpy's .npz uses them: a strict reader of the end-of-central-
// directory record and the central directory, stored (0) or deflated (8) entries, ZIP64 extra fields
// on entries (numpy always writes them) but not ZIP64 archives (over 65535 entries or 4 GiB).
// Not here: what the entries hold (io/npy.c), encryption, multi-disk archives, writing.
#ifndef LL_IO_ZIP_H
#define LL_IO_ZIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;        // NUL-terminated (a name containing NUL is refused)
    int method;              // 0 stored, 8 deflated
    uint32_t crc;
    uint64_t comp_size, size;
    uint64_t offset;         // of the local header
    const uint8_t *data;     // the compressed bytes, inside the caller's buffer (checked to fit)
} ZipEntry;

typedef struct {
    ZipEntry *entries;       // in central-directory order
    size_t num_entries;
    char *names;             // one block holding every name
    const char *archive;     // the archive's name, for messages (the caller's string)
} ZipArchive;

// True if the bytes start with a local file header's signature, PK 03 04 (or an empty archive's PK 05 06).
int zip_looks_like(const uint8_t *bytes, size_t len);
// Reads the directory of len bytes named name. Every entry's local header must agree with the central
// directory, lie before it and not overlap another; names must be unique. LL_OK, or LL_EFORMAT (LL_ENOMEM)
// with "name: what is wrong" in err and z empty. Borrows bytes; allocations are bounded by len.
int zip_open(ZipArchive *z, const uint8_t *bytes, size_t len, const char *name, char *err, size_t errlen);
void zip_free(ZipArchive *z);
const ZipEntry *zip_find(const ZipArchive *z, const char *name);
// An entry's contents, at most max_out bytes (checked before allocating), CRC32 verified. A stored
// entry is returned in place (*owned NULL); a deflated one in a new buffer (*owned, free() it; *data == *owned).
int zip_read(const ZipArchive *z, const ZipEntry *e, size_t max_out, const uint8_t **data, uint8_t **owned, size_t *len,
             char *err, size_t errlen);

#endif
