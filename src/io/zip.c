// The zip reader. The end-of-central-directory record is found from the end (its comment must reach
// the end exactly), the central directory is checked to lie inside the file before it is walked, and
// each entry's sizes are checked against the file before any entry is read. The directory's allocations
// are bounded by its size (each record is at least 46 bytes); an entry's by the caller's limit.
#include "io/zip.h"

#include <stdlib.h>
#include <string.h>

#include "io/bytes.h"
#include "io/crc32.h"
#include "io/error.h"
#include "io/inflate.h"
#include "status.h"

#define EOCD_SIZE 22
#define CDH_SIZE 46      // central directory file header
#define LFH_SIZE 30      // local file header
#define SIG_EOCD 0x06054b50u
#define SIG_CDH 0x02014b50u
#define SIG_LFH 0x04034b50u
#define ZIP64_EXTRA 0x0001
#define FLAG_ENCRYPTED 0x0001
#define FLAG_DESCRIPTOR 0x0008   // CRC and sizes follow the data; the local header's are zero
#define FLAG_STRONG 0x0040

int zip_looks_like(const uint8_t *bytes, size_t len) {
    return len >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && ((bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6));
}

// Replaces the 0xffffffff fields among *size, *comp, *offset (in that order, as many as are saturated)
// with the 64-bit values of a ZIP64 extra field in extra[0..n). Returns 0 if a needed value is missing.
static int apply_zip64(const uint8_t *extra, size_t n, uint64_t *size, uint64_t *comp, uint64_t *offset) {
    int need = (*size == 0xffffffffu) + (*comp == 0xffffffffu) + (offset && *offset == 0xffffffffu);
    if (!need) return 1;
    for (size_t p = 0; n - p >= 4;) {
        unsigned id = read_u16le(extra + p), len = read_u16le(extra + p + 2);
        if (n - p - 4 < len) return 0;
        if (id == ZIP64_EXTRA) {
            const uint8_t *v = extra + p + 4;
            size_t left = len;
            uint64_t *fields[3] = {size, comp, offset};
            for (int i = 0; i < 3; i++) {
                if (!fields[i] || *fields[i] != 0xffffffffu) continue;
                if (left < 8) return 0;
                *fields[i] = read_u64le(v);
                v += 8;
                left -= 8;
            }
            return 1;
        }
        p += 4 + len;
    }
    return 0;
}

static int by_offset(const void *a, const void *b) {
    const ZipEntry *x = *(const ZipEntry *const *)a, *y = *(const ZipEntry *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

// The local header at e->offset must name the same entry, with the same method and (unless a data
// descriptor follows) the same CRC and sizes; sets e->data after it. cd_offset bounds the entry's data.
static int check_local(const ZipArchive *z, ZipEntry *e, const uint8_t *b, size_t cd_offset, char *err, size_t errlen) {
    const char *an = z->archive;
    if (e->offset > cd_offset || cd_offset - e->offset < LFH_SIZE)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: local header at %llu is not before the central directory", an,
                       e->name, (unsigned long long)e->offset);
    const uint8_t *h = b + e->offset;
    if (read_u32le(h) != SIG_LFH)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: no local header at offset %llu", an, e->name,
                       (unsigned long long)e->offset);
    unsigned flags = read_u16le(h + 6), method = read_u16le(h + 8), name_len = read_u16le(h + 26), extra_len = read_u16le(h + 28);
    size_t at = (size_t)e->offset + LFH_SIZE;
    if (cd_offset - at < (size_t)name_len + extra_len)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: local header runs into the central directory", an, e->name);
    if (name_len != strlen(e->name) || memcmp(h + LFH_SIZE, e->name, name_len) != 0)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: the local header names another entry", an, e->name);
    if ((int)method != e->method)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: local header says method %u, central directory %d", an, e->name,
                       method, e->method);
    if (!(flags & FLAG_DESCRIPTOR)) {
        uint64_t size = read_u32le(h + 22), comp = read_u32le(h + 18);
        if (!apply_zip64(h + LFH_SIZE + name_len, extra_len, &size, &comp, NULL))
            return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: local header lacks its ZIP64 sizes", an, e->name);
        if (read_u32le(h + 14) != e->crc || size != e->size || comp != e->comp_size)
            return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: local header's CRC or sizes disagree with the central directory",
                           an, e->name);
    }
    at += (size_t)name_len + extra_len;
    if (e->comp_size > cd_offset - at)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: %llu bytes of data run past the central directory", an, e->name,
                       (unsigned long long)e->comp_size);
    e->data = b + at;
    return LL_OK;
}

static int parse_directory(ZipArchive *z, const uint8_t *b, size_t len, char *err, size_t errlen) {
    const char *an = z->archive;
    if (len < EOCD_SIZE) return io_fail(err, errlen, LL_EFORMAT, "%s: %zu bytes is too short for a zip archive", an, len);
    // The record is the last 22 bytes plus its comment (at most 65535 bytes).
    size_t eocd = 0;
    int found = 0;
    for (size_t back = 0; back <= 0xffff && back <= len - EOCD_SIZE; back++) {
        size_t p = len - EOCD_SIZE - back;
        if (read_u32le(b + p) == SIG_EOCD && read_u16le(b + p + 20) == back) {
            eocd = p;
            found = 1;
            break;
        }
    }
    if (!found) return io_fail(err, errlen, LL_EFORMAT, "%s: no end-of-central-directory record (not a zip archive, or truncated)", an);
    const uint8_t *e = b + eocd;
    unsigned disk = read_u16le(e + 4), cd_disk = read_u16le(e + 6), here = read_u16le(e + 8), total = read_u16le(e + 10);
    uint32_t cd_size = read_u32le(e + 12), cd_offset = read_u32le(e + 16);
    if (here == 0xffff || total == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu)
        return io_fail(err, errlen, LL_EFORMAT, "%s: a ZIP64 archive (over 65535 entries or 4 GiB) is not supported", an);
    if (disk != 0 || cd_disk != 0 || here != total)
        return io_fail(err, errlen, LL_EFORMAT, "%s: multi-disk zip archives are not supported", an);
    if (cd_offset > eocd || eocd - cd_offset < cd_size)
        return io_fail(err, errlen, LL_EFORMAT, "%s: the central directory (%lu bytes at %lu) does not fit before its end record", an,
                       (unsigned long)cd_size, (unsigned long)cd_offset);
    if ((size_t)total * CDH_SIZE > cd_size)
        return io_fail(err, errlen, LL_EFORMAT, "%s: %u entries cannot fit in a central directory of %lu bytes", an, total,
                       (unsigned long)cd_size);

    z->entries = calloc(total ? total : 1, sizeof *z->entries);
    z->names = malloc((size_t)cd_size + 1);
    if (!z->entries || !z->names) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory reading the zip directory", an);
    size_t p = cd_offset, cd_end = (size_t)cd_offset + cd_size, names_used = 0;
    for (unsigned i = 0; i < total; i++) {
        if (cd_end - p < CDH_SIZE || read_u32le(b + p) != SIG_CDH)
            return io_fail(err, errlen, LL_EFORMAT, "%s: central directory entry %u is missing or damaged", an, i);
        const uint8_t *h = b + p;
        unsigned flags = read_u16le(h + 8), method = read_u16le(h + 10), name_len = read_u16le(h + 28),
                 extra_len = read_u16le(h + 30), comment_len = read_u16le(h + 32);
        if (cd_end - p - CDH_SIZE < (size_t)name_len + extra_len + comment_len)
            return io_fail(err, errlen, LL_EFORMAT, "%s: central directory entry %u runs past the directory's end", an, i);
        const uint8_t *name = h + CDH_SIZE;
        if (name_len == 0 || memchr(name, 0, name_len))
            return io_fail(err, errlen, LL_EFORMAT, "%s: central directory entry %u has an empty name or one containing NUL", an, i);
        ZipEntry *en = &z->entries[i];
        memcpy(z->names + names_used, name, name_len);
        z->names[names_used + name_len] = '\0';
        en->name = z->names + names_used;
        names_used += name_len + 1;   // name_len + 1 <= CDH_SIZE + name_len: the block cannot overflow
        if (flags & (FLAG_ENCRYPTED | FLAG_STRONG))
            return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s is encrypted", an, en->name);
        if (method != 0 && method != 8)
            return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s uses compression method %u (only stored and deflated are read)", an,
                           en->name, method);
        en->method = (int)method;
        en->crc = read_u32le(h + 16);
        en->comp_size = read_u32le(h + 20);
        en->size = read_u32le(h + 24);
        en->offset = read_u32le(h + 42);
        if (!apply_zip64(name + name_len, extra_len, &en->size, &en->comp_size, &en->offset))
            return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s lacks the ZIP64 field its sizes point to", an, en->name);
        if (method == 0 && en->comp_size != en->size)
            return io_fail(err, errlen, LL_EFORMAT, "%s: stored entry %s has %llu bytes compressed but %llu uncompressed", an,
                           en->name, (unsigned long long)en->comp_size, (unsigned long long)en->size);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(z->entries[j].name, en->name) == 0)
                return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s appears twice", an, en->name);
        z->num_entries = i + 1;
        if (check_local(z, en, b, cd_offset, err, errlen) != LL_OK) return LL_EFORMAT;
        p += CDH_SIZE + name_len + extra_len + comment_len;
    }
    // No two entries may share bytes (overlapping entries are a known zip-bomb trick).
    const ZipEntry **order = malloc((total ? total : 1) * sizeof *order);
    if (!order) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory reading the zip directory", an);
    for (unsigned i = 0; i < total; i++) order[i] = &z->entries[i];
    qsort(order, total, sizeof *order, by_offset);
    int status = LL_OK;
    for (unsigned i = 1; i < total && status == LL_OK; i++) {
        const ZipEntry *prev = order[i - 1];
        if ((uint64_t)(prev->data - b) + prev->comp_size > order[i]->offset)
            status = io_fail(err, errlen, LL_EFORMAT, "%s: entries %s and %s overlap", an, prev->name, order[i]->name);
    }
    free(order);
    return status;
}

int zip_open(ZipArchive *z, const uint8_t *bytes, size_t len, const char *name, char *err, size_t errlen) {
    memset(z, 0, sizeof *z);
    z->archive = name;
    int status = parse_directory(z, bytes, len, err, errlen);
    if (status != LL_OK) zip_free(z);
    z->archive = name;
    return status;
}

void zip_free(ZipArchive *z) {
    free(z->entries);
    free(z->names);
    z->entries = NULL;
    z->names = NULL;
    z->num_entries = 0;
}

const ZipEntry *zip_find(const ZipArchive *z, const char *name) {
    for (size_t i = 0; i < z->num_entries; i++)
        if (strcmp(z->entries[i].name, name) == 0) return &z->entries[i];
    return NULL;
}

int zip_read(const ZipArchive *z, const ZipEntry *e, size_t max_out, const uint8_t **data, uint8_t **owned, size_t *len,
             char *err, size_t errlen) {
    const char *an = z->archive;
    *data = NULL;
    *owned = NULL;
    *len = 0;
    if (e->size > max_out)
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s expands to %llu bytes, over the %zu-byte limit", an, e->name,
                       (unsigned long long)e->size, max_out);
    if (e->method == 8 && e->size > inflate_max_output(e->comp_size))
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s claims %llu bytes from %llu compressed, more than DEFLATE can expand (1032:1)",
                       an, e->name, (unsigned long long)e->size, (unsigned long long)e->comp_size);
    size_t size = (size_t)e->size;
    const uint8_t *out = e->data;
    if (e->method == 8) {
        uint8_t *buf = malloc(size ? size : 1);
        if (!buf) return io_fail(err, errlen, LL_ENOMEM, "%s: out of memory for entry %s (%zu bytes)", an, e->name, size);
        InflateResult r;
        char why[300];
        int status = inflate_raw(buf, size, e->data, (size_t)e->comp_size, &r, why, sizeof why);
        if (status != LL_OK && r.over_limit)
            io_fail(err, errlen, LL_EFORMAT, "%s: entry %s inflates past the %zu bytes the directory states", an, e->name, size);
        else if (status != LL_OK)
            io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: %s", an, e->name, why);
        else if (r.out_len != size || r.in_used != e->comp_size)
            status = io_fail(err, errlen, LL_EFORMAT, "%s: entry %s inflates to %zu bytes from %zu, the directory says %zu from %llu",
                             an, e->name, r.out_len, r.in_used, size, (unsigned long long)e->comp_size);
        if (status != LL_OK) {
            free(buf);
            return status;
        }
        *owned = buf;
        out = buf;
    }
    uint32_t crc = crc32_update(0, out, size);
    if (crc != e->crc) {
        free(*owned);
        *owned = NULL;
        return io_fail(err, errlen, LL_EFORMAT, "%s: entry %s: CRC32 mismatch (data has %08lx, directory says %08lx)", an, e->name,
                       (unsigned long)crc, (unsigned long)e->crc);
    }
    *data = out;
    *len = size;
    return LL_OK;
}
