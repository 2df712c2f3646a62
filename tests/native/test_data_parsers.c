// Native checks for the data readers in src/io (CRC32, DEFLATE, gzip, IDX, zip, NPY, the file detector
// and the dataset builder), meant to run under ASan/UBSan. It asserts that each reader reads back what
// was written (stored, fixed-Huffman and dynamic-Huffman DEFLATE; gzip with every header flag; npz with
// stored and deflated entries, ZIP64 extra fields; IDX gzipped or not), that every documented refusal
// happens with its message, and that every truncation and thousands of seeded byte mutations of valid
// files are refused or read without a sanitizer report. Prints each failure and "N passed, M failed".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/crc32.h"
#include "io/datafile.h"
#include "io/dataset.h"
#include "io/gzip.h"
#include "io/idx.h"
#include "io/inflate.h"
#include "io/npy.h"
#include "io/zip.h"
#include "status.h"

// ----------------------------------------------------------------------------
// a growable byte buffer and the writers the tests build files with

typedef struct {
    uint8_t *b;
    size_t n, cap;
} Buf;

static void put(Buf *o, const void *p, size_t n) {
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2 + 64;
        o->b = realloc(o->b, o->cap);
    }
    if (n) memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put8(Buf *o, unsigned v) { uint8_t c = (uint8_t)v; put(o, &c, 1); }
static void put16(Buf *o, unsigned v) { put8(o, v & 0xff); put8(o, v >> 8 & 0xff); }
static void put32(Buf *o, uint32_t v) { put16(o, v & 0xffff); put16(o, v >> 16); }
static void put64(Buf *o, uint64_t v) { put32(o, (uint32_t)v); put32(o, (uint32_t)(v >> 32)); }
static void put32be(Buf *o, uint32_t v) { put8(o, v >> 24); put8(o, v >> 16 & 0xff); put8(o, v >> 8 & 0xff); put8(o, v & 0xff); }

// DEFLATE as stored blocks of at most 65535 bytes (an empty input gets one empty final block).
static Buf deflate_stored(const uint8_t *p, size_t n) {
    Buf o = {0};
    size_t at = 0;
    do {
        size_t len = n - at < 65535 ? n - at : 65535;
        put8(&o, at + len == n ? 1 : 0);
        put16(&o, (unsigned)len);
        put16(&o, (unsigned)~len & 0xffff);
        put(&o, p + at, len);
        at += len;
    } while (at < n);
    return o;
}

// DEFLATE as one fixed-Huffman block: literals, and runs of a repeated byte as (length, distance 1) matches.
typedef struct {
    Buf o;
    uint32_t acc;
    int nacc;
} Bits;
static void bits(Bits *w, uint32_t v, int n) {   // n bits of v, least significant first
    for (int i = 0; i < n; i++) {
        w->acc |= (v >> i & 1) << w->nacc;
        if (++w->nacc == 8) { put8(&w->o, w->acc); w->acc = 0; w->nacc = 0; }
    }
}
static void huff(Bits *w, uint32_t code, int len) {   // Huffman codes go most significant bit first
    for (int i = len - 1; i >= 0; i--) bits(w, code >> i & 1, 1);
}
static void fixed_sym(Bits *w, int sym) {
    if (sym < 144) huff(w, 0x30 + (uint32_t)sym, 8);
    else if (sym < 256) huff(w, 0x190 + (uint32_t)(sym - 144), 9);
    else if (sym < 280) huff(w, (uint32_t)(sym - 256), 7);
    else huff(w, 0xc0 + (uint32_t)(sym - 280), 8);
}
static Buf deflate_fixed(const uint8_t *p, size_t n) {
    static const int BASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    Bits w = {0};
    bits(&w, 1, 1);   // final
    bits(&w, 1, 2);   // fixed
    for (size_t i = 0; i < n;) {
        size_t run = 0;
        while (i > 0 && i + run < n && p[i + run] == p[i - 1] && run < 258) run++;
        if (run >= 3) {
            int s = 28;
            while (BASE[s] > (int)run) s--;
            fixed_sym(&w, 257 + s);
            bits(&w, (uint32_t)(run - (size_t)BASE[s]), EXTRA[s]);
            huff(&w, 0, 5);   // distance code 0: distance 1
            i += run;
        } else {
            fixed_sym(&w, p[i++]);
        }
    }
    fixed_sym(&w, 256);
    if (w.nacc) put8(&w.o, w.acc);
    return w.o;
}

// gzip around a DEFLATE stream, with optional header fields.
typedef struct {
    const char *name, *comment;
    const uint8_t *extra;
    size_t extra_len;
    int hcrc;
} GzOpts;
static Buf gzip_wrap(const Buf *deflated, const uint8_t *raw, size_t n, GzOpts opt) {
    Buf o = {0};
    int flags = (opt.hcrc ? 2 : 0) | (opt.extra ? 4 : 0) | (opt.name ? 8 : 0) | (opt.comment ? 16 : 0);
    uint8_t h[10] = {0x1f, 0x8b, 8, (uint8_t)flags, 0, 0, 0, 0, 2, 3};
    put(&o, h, 10);
    if (opt.extra) { put16(&o, (unsigned)opt.extra_len); put(&o, opt.extra, opt.extra_len); }
    if (opt.name) put(&o, opt.name, strlen(opt.name) + 1);
    if (opt.comment) put(&o, opt.comment, strlen(opt.comment) + 1);
    if (opt.hcrc) put16(&o, crc32_update(0, o.b, o.n) & 0xffff);
    put(&o, deflated->b, deflated->n);
    put32(&o, crc32_update(0, raw, n));
    put32(&o, (uint32_t)n);
    return o;
}
static Buf gzip_of(const uint8_t *raw, size_t n) {
    Buf d = deflate_fixed(raw, n);
    Buf g = gzip_wrap(&d, raw, n, (GzOpts){0});
    free(d.b);
    return g;
}

static Buf idx_file(int ndim, const uint32_t *dims, const uint8_t *data, size_t n) {
    Buf o = {0};
    put8(&o, 0); put8(&o, 0); put8(&o, 8); put8(&o, (unsigned)ndim);
    for (int i = 0; i < ndim; i++) put32be(&o, dims[i]);
    put(&o, data, n);
    return o;
}

// An NPY v1 file: header dict text given, padded to a multiple of 64 as numpy does.
static Buf npy_raw(const char *dict, const void *data, size_t n) {
    Buf o = {0};
    put(&o, "\x93NUMPY\x01\x00", 8);
    size_t len = strlen(dict), total = (10 + len + 1 + 63) / 64 * 64;
    put16(&o, (unsigned)(total - 10));
    put(&o, dict, len);
    while (o.n < total - 1) put8(&o, ' ');
    put8(&o, '\n');
    put(&o, data, n);
    return o;
}
static Buf npy_file(const char *descr, const char *shape, const void *data, size_t n) {
    char dict[200];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    return npy_raw(dict, data, n);
}

// A zip archive of entries (name, contents, method 0 or 8); zip64 adds numpy's ZIP64 extra to local headers.
typedef struct {
    const char *name;
    Buf body;
    int method;
} Entry;
static Buf zip_file(const Entry *e, int n, int zip64) {
    Buf o = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        Buf packed = e[i].method == 8 ? deflate_fixed(e[i].body.b, e[i].body.n) : (Buf){0};
        const Buf *data = e[i].method == 8 ? &packed : &e[i].body;
        uint32_t crc = crc32_update(0, e[i].body.b, e[i].body.n), offset = (uint32_t)o.n;
        unsigned nl = (unsigned)strlen(e[i].name);
        put32(&o, 0x04034b50); put16(&o, 20); put16(&o, 0); put16(&o, (unsigned)e[i].method); put16(&o, 0); put16(&o, 0x21);
        put32(&o, crc); put32(&o, (uint32_t)data->n); put32(&o, (uint32_t)e[i].body.n); put16(&o, nl); put16(&o, zip64 ? 20 : 0);
        put(&o, e[i].name, nl);
        if (zip64) { put16(&o, 1); put16(&o, 16); put64(&o, e[i].body.n); put64(&o, data->n); }
        put(&o, data->b, data->n);
        put32(&cd, 0x02014b50); put16(&cd, 20); put16(&cd, 20); put16(&cd, 0); put16(&cd, (unsigned)e[i].method); put16(&cd, 0);
        put16(&cd, 0x21); put32(&cd, crc); put32(&cd, (uint32_t)data->n); put32(&cd, (uint32_t)e[i].body.n); put16(&cd, nl);
        put16(&cd, 0); put16(&cd, 0); put16(&cd, 0); put16(&cd, 0); put32(&cd, 0); put32(&cd, offset);
        put(&cd, e[i].name, nl);
        free(packed.b);
    }
    uint32_t cd_offset = (uint32_t)o.n;
    put(&o, cd.b, cd.n);
    put32(&o, 0x06054b50); put16(&o, 0); put16(&o, 0); put16(&o, (unsigned)n); put16(&o, (unsigned)n);
    put32(&o, (uint32_t)cd.n); put32(&o, cd_offset); put16(&o, 0);
    free(cd.b);
    return o;
}

// ----------------------------------------------------------------------------
// shared expectations

static char err[512];

static int contains(const char *s, const char *want) { return want == NULL || strstr(s, want) != NULL; }

// Opens bytes as a data file and (if that works) builds a dataset alone; expects the message want, or success.
static int open_build(const uint8_t *b, size_t n, const char *name, size_t limit, Dataset *d, DataFile *f) {
    int status = datafile_open(f, b, n, name, limit, err, sizeof err);
    if (status != LL_OK) return status;
    status = dataset_build(d, f, NULL, err, sizeof err);
    if (status != LL_OK) datafile_free(f);
    return status;
}
static void expect_refused(Tally *t, const Buf *file, size_t limit, const char *want, const char *what) {
    DataFile f;
    Dataset d;
    err[0] = '\0';
    int status = open_build(file->b, file->n, "f", limit ? limit : DATA_MAX_BYTES, &d, &f);
    if (status == LL_OK) { dataset_free(&d); datafile_free(&f); }
    check(t, status != LL_OK && contains(err, want), "%s: want refusal with \"%s\", got status %d \"%s\"", what, want, status, err);
}

// A deterministic byte pattern skewed enough that zlib codes it with a dynamic-Huffman block.
static void skewed(uint8_t *out, size_t n) {
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = (x * 1103515245u + 12345u) & 0x7fffffffu;
        unsigned r = (x >> 16) % 100;
        out[i] = (uint8_t)(97 + (r < 40 ? 0 : r < 60 ? 1 : r < 75 ? 2 : r % 20));
    }
}

// ----------------------------------------------------------------------------
// CRC32 and DEFLATE

static void test_crc_inflate(Tally *t) {
    check(t, crc32_update(0, (const uint8_t *)"123456789", 9) == 0xcbf43926u, "CRC32 of 123456789 is cbf43926");
    check(t, crc32_update(crc32_update(0, (const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5) == 0xcbf43926u,
          "CRC32 continues across calls");

    uint8_t out[4096];
    InflateResult r;
    // zlib -9 of skewed(300): a dynamic-Huffman block.
    static const char *DYNAMIC_HEX =
        "2d4e011283300c7a2b44a775766dadff3f21ce3b534880240a26482048ee3d04c6193138c0d060108125ee2a7a01151204f62f0d40743bf54e354e"
        "b971c53c205a6295e5d088456dad88da6c1150429d94a0d15e4f5dd7c42e99dc554efd5bf6e4e9b9dc9ae523ea68f2e7402b6edf8ef7dbffe7892f"
        "199a616941ae4fd280add9da0a71a3beed5c65e7911982799cae7800";
    uint8_t dyn[200];
    size_t dyn_n = strlen(DYNAMIC_HEX) / 2;
    for (size_t i = 0; i < dyn_n; i++) sscanf(DYNAMIC_HEX + 2 * i, "%2hhx", &dyn[i]);
    uint8_t want[300];
    skewed(want, 300);
    check(t, (dyn[0] >> 1 & 3) == 2, "the zlib sample is a dynamic block");
    int s = inflate_raw(out, sizeof out, dyn, dyn_n, &r, err, sizeof err);
    check(t, s == LL_OK && r.out_len == 300 && r.in_used == dyn_n && memcmp(out, want, 300) == 0,
          "dynamic-Huffman block (zlib -9) inflates to its 300 bytes: %s", s ? err : "");
    // zlib -9 of "hello, hello, hello, hello! " x 3: a fixed-Huffman block with matches.
    static const uint8_t FIXED[] = {0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8, 0xc0, 0xa4, 0x14, 0xb1, 0x09, 0x12, 0x25, 0x07, 0x00};
    s = inflate_raw(out, sizeof out, FIXED, sizeof FIXED, &r, err, sizeof err);
    check(t, s == LL_OK && r.out_len == 84 && memcmp(out, "hello, hello, hello, hello! hello, ", 35) == 0 && out[83] == ' ',
          "fixed-Huffman block (zlib -9) inflates: %s", s ? err : "");
    // The test's own writers: stored (several blocks) and fixed with runs.
    uint8_t *big = malloc(150000);
    for (size_t i = 0; i < 150000; i++) big[i] = (uint8_t)(i % 7 == 0 ? i / 7 : 0);
    uint8_t *back = malloc(150000);
    Buf st = deflate_stored(big, 150000), fx = deflate_fixed(big, 150000);
    s = inflate_raw(back, 150000, st.b, st.n, &r, err, sizeof err);
    check(t, s == LL_OK && r.out_len == 150000 && memcmp(back, big, 150000) == 0, "three stored blocks round-trip: %s", s ? err : "");
    s = inflate_raw(back, 150000, fx.b, fx.n, &r, err, sizeof err);
    check(t, s == LL_OK && r.out_len == 150000 && memcmp(back, big, 150000) == 0 && r.in_used == fx.n,
          "fixed block with runs round-trips: %s", s ? err : "");
    // The output limit: one byte short stops with over_limit set.
    s = inflate_raw(back, 149999, fx.b, fx.n, &r, err, sizeof err);
    check(t, s != LL_OK && r.over_limit && contains(err, "expands past 149999 bytes"), "output limit (fixed): %s", err);
    s = inflate_raw(back, 149999, st.b, st.n, &r, err, sizeof err);
    check(t, s != LL_OK && r.over_limit, "output limit (stored): %s", err);
    s = inflate_raw(out, 299, dyn, dyn_n, &r, err, sizeof err);
    check(t, s != LL_OK && r.over_limit, "output limit (dynamic): %s", err);
    // Every truncation fails cleanly.
    int bad = 0;
    for (size_t n = 0; n < dyn_n; n++)
        if (inflate_raw(out, sizeof out, dyn, n, &r, err, sizeof err) == LL_OK) bad++;
    for (size_t n = 0; n < fx.n; n += 1 + n / 50)
        if (inflate_raw(back, 150000, fx.b, n, &r, err, sizeof err) == LL_OK) bad++;
    check(t, bad == 0, "%d truncated streams were accepted", bad);
    free(st.b); free(fx.b); free(big); free(back);

    // Hand-made broken streams.
    static const uint8_t TYPE3[] = {0x07};
    s = inflate_raw(out, sizeof out, TYPE3, 1, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "invalid block type 3"), "block type 3: %s", err);
    static const uint8_t NLEN[] = {0x01, 0x05, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e'};
    s = inflate_raw(out, sizeof out, NLEN, sizeof NLEN, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "length and its complement disagree"), "stored LEN/NLEN: %s", err);
    static const uint8_t LONG_STORED[] = {0x01, 0x05, 0x00, 0xfa, 0xff, 'a', 'b'};
    s = inflate_raw(out, sizeof out, LONG_STORED, sizeof LONG_STORED, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "runs past the input's end"), "stored block past the end: %s", err);
    s = inflate_raw(out, sizeof out, NULL, 0, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "no data"), "empty input: %s", err);
    // A match (length 3, distance 1) as the very first symbol: nothing to copy from.
    Bits w = {0};
    bits(&w, 1, 1); bits(&w, 1, 2); fixed_sym(&w, 257); huff(&w, 0, 5); fixed_sym(&w, 256);
    if (w.nacc) put8(&w.o, w.acc);
    s = inflate_raw(out, sizeof out, w.o.b, w.o.n, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "reaches before the start of the output"), "distance too far back: %s", err);
    free(w.o.b);
    // Fixed code symbols 286/287 and distance 30/31 are invalid.
    w = (Bits){0};
    bits(&w, 1, 1); bits(&w, 1, 2); fixed_sym(&w, 'x'); fixed_sym(&w, 286);
    if (w.nacc) put8(&w.o, w.acc);
    s = inflate_raw(out, sizeof out, w.o.b, w.o.n, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "invalid length symbol 286"), "length symbol 286: %s", err);
    free(w.o.b);
    w = (Bits){0};
    bits(&w, 1, 1); bits(&w, 1, 2); fixed_sym(&w, 'x'); fixed_sym(&w, 257); huff(&w, 30, 5);
    if (w.nacc) put8(&w.o, w.acc);
    s = inflate_raw(out, sizeof out, w.o.b, w.o.n, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "distance"), "distance symbol 30: %s", err);
    free(w.o.b);
    // A dynamic header whose code-length code is over-subscribed (all 19 lengths 1).
    w = (Bits){0};
    bits(&w, 1, 1); bits(&w, 2, 2); bits(&w, 0, 5); bits(&w, 0, 5); bits(&w, 15, 4);
    for (int i = 0; i < 19; i++) bits(&w, 1, 3);
    bits(&w, 0, 8);
    if (w.nacc) put8(&w.o, w.acc);
    s = inflate_raw(out, sizeof out, w.o.b, w.o.n, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "code-length code is incomplete or over-subscribed"), "over-subscribed code: %s", err);
    free(w.o.b);
    // 287 literal/length codes (HLIT 30) is more than the 286 allowed.
    w = (Bits){0};
    bits(&w, 1, 1); bits(&w, 2, 2); bits(&w, 30, 5); bits(&w, 0, 5); bits(&w, 0, 4);
    bits(&w, 0, 16);
    if (w.nacc) put8(&w.o, w.acc);
    s = inflate_raw(out, sizeof out, w.o.b, w.o.n, &r, err, sizeof err);
    check(t, s != LL_OK && contains(err, "287 literal/length codes"), "HLIT too large: %s", err);
    free(w.o.b);
}

// ----------------------------------------------------------------------------
// gzip

static void expect_gzip(Tally *t, const Buf *g, size_t limit, const char *want, const char *what) {
    uint8_t *out;
    size_t n;
    err[0] = '\0';
    int s = gzip_decompress(g->b, g->n, "g.gz", limit, &out, &n, err, sizeof err);
    if (s == LL_OK) free(out);
    check(t, s != LL_OK && contains(err, want) && out == NULL, "gzip %s: want \"%s\", got %d \"%s\"", what, want, s, err);
}

static void test_gzip(Tally *t) {
    uint8_t raw[300];
    skewed(raw, sizeof raw);
    Buf d = deflate_fixed(raw, sizeof raw);
    static const uint8_t EXTRA[] = {'A', 'B', 2, 0, 'x', 'y'};
    GzOpts variants[] = {{0}, {.name = "file.idx"}, {.comment = "a comment"}, {.extra = EXTRA, .extra_len = 6},
                         {.name = "n", .comment = "c", .extra = EXTRA, .extra_len = 6, .hcrc = 1}, {.hcrc = 1}};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        Buf g = gzip_wrap(&d, raw, sizeof raw, variants[v]);
        uint8_t *out;
        size_t n;
        int s = gzip_decompress(g.b, g.n, "g.gz", 1 << 20, &out, &n, err, sizeof err);
        check(t, s == LL_OK && n == sizeof raw && memcmp(out, raw, n) == 0, "gzip header variant %zu reads back: %s", v, s ? err : "");
        if (s == LL_OK) free(out);
        free(g.b);
    }
    Buf empty_d = deflate_stored(NULL, 0), empty = gzip_wrap(&empty_d, NULL, 0, (GzOpts){0});
    uint8_t *out;
    size_t n;
    int s = gzip_decompress(empty.b, empty.n, "e.gz", 100, &out, &n, err, sizeof err);
    check(t, s == LL_OK && n == 0, "an empty gzip member reads as 0 bytes: %s", s ? err : "");
    if (s == LL_OK) free(out);
    free(empty.b); free(empty_d.b);

    Buf g = gzip_wrap(&d, raw, sizeof raw, (GzOpts){.name = "x", .hcrc = 1});
    Buf c = {0};
#define MUTATE(stmt) (free(c.b), c = (Buf){0}, put(&c, g.b, g.n), stmt, &c)
    expect_gzip(t, MUTATE(c.n = 17), 1 << 20, "too short for a gzip file", "17 bytes");
    expect_gzip(t, MUTATE(c.b[1] = 0x8c), 1 << 20, "not a gzip file (bad magic)", "magic");
    expect_gzip(t, MUTATE(c.b[2] = 7), 1 << 20, "compression method 7 is not deflate", "method");
    expect_gzip(t, MUTATE(c.b[3] |= 0x20), 1 << 20, "reserved flag bits", "flags");
    expect_gzip(t, MUTATE(c.b[10] = 'y'), 1 << 20, "header CRC16 mismatch", "header CRC");
    expect_gzip(t, MUTATE(c.b[c.n - 1] = 0x40), 1 << 20, "the gzip trailer says 1073742124 bytes, over the 1048576-byte limit, but the data inflates to 300", "ISIZE over the limit");
    expect_gzip(t, MUTATE(c.b[c.n - 2] = 0x40), 1 << 30, "the gzip trailer says 4194604 bytes, more than its deflate data can hold, but the data inflates to 300", "ISIZE over 1032:1");
    expect_gzip(t, MUTATE(c.n -= 20), 1 << 20, "corrupt or truncated gzip file: deflate data", "truncated (trailer over the limit)");
    expect_gzip(t, MUTATE((c.b[c.n - 4] = 10, c.b[c.n - 3] = 0)), 1 << 20, "expands past the 10 bytes the gzip trailer states", "ISIZE too small");
    expect_gzip(t, MUTATE(c.b[c.n - 4] += 1), 1 << 20, "inflated to 300 bytes but the gzip trailer says 301", "ISIZE too large");
    expect_gzip(t, MUTATE(c.b[c.n - 8] ^= 1), 1 << 20, "gzip CRC32 mismatch", "CRC32");
    expect_gzip(t, &g, 299, "the data expands past the 299-byte limit (the gzip trailer says 300 bytes)", "limit below the size");
    // Bytes after the member: the trailer is then read from the wrong place.
    Buf two = {0};
    put(&two, g.b, g.n); put(&two, g.b, g.n);
    expect_gzip(t, &two, 1 << 20, "", "two members");
    free(two.b);
    Buf unterminated = {0};
    uint8_t h[10] = {0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3};
    put(&unterminated, h, 10); put(&unterminated, "name-without-end-and-padding", 28);
    expect_gzip(t, &unterminated, 1 << 20, "file name is not terminated", "FNAME");
    Buf xl = {0};
    uint8_t hx[10] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3};
    put(&xl, hx, 10); put16(&xl, 5000); put(&xl, "0123456789", 10);
    expect_gzip(t, &xl, 1 << 20, "extra field of 5000 bytes runs past", "FEXTRA");
    int bad = 0;
    for (size_t len = 0; len < g.n; len++) {
        s = gzip_decompress(g.b, len, "g.gz", 1 << 20, &out, &n, err, sizeof err);
        if (s == LL_OK) { bad++; free(out); }
    }
    check(t, bad == 0, "%d truncated gzip files were accepted", bad);
    free(c.b); free(g.b); free(d.b); free(unterminated.b); free(xl.b);
#undef MUTATE
}

// ----------------------------------------------------------------------------
// IDX

static void expect_idx(Tally *t, const uint8_t *b, size_t n, size_t limit, const char *want) {
    IdxArray a;
    err[0] = '\0';
    int s = idx_parse(&a, b, n, "x.idx", limit, err, sizeof err);
    check(t, s != LL_OK && contains(err, want), "IDX: want \"%s\", got %d \"%s\"", want, s, err);
}

static void test_idx(Tally *t) {
    uint8_t data[2 * 784];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
    uint32_t dims[3] = {2, 28, 28};
    Buf f = idx_file(3, dims, data, sizeof data);
    IdxArray a;
    int s = idx_parse(&a, f.b, f.n, "x.idx", DATA_MAX_BYTES, err, sizeof err);
    check(t, s == LL_OK && a.ndim == 3 && a.dims[0] == 2 && a.dims[2] == 28 && a.size == sizeof data && a.data == f.b + 16 &&
                 memcmp(a.data, data, sizeof data) == 0, "IDX (2, 28, 28) reads back: %s", s ? err : "");
    expect_idx(t, f.b, 2, DATA_MAX_BYTES, "x.idx: 2 bytes is too short for an IDX header");
    expect_idx(t, (const uint8_t *)"\1\2\10\1\0\0\0\0", 8, DATA_MAX_BYTES, "not an IDX file (bad magic)");
    expect_idx(t, (const uint8_t *)"\0\0\x0d\1\0\0\0\0", 8, DATA_MAX_BYTES, "IDX type 0xd is not unsigned bytes (0x08)");
    expect_idx(t, (const uint8_t *)"\0\0\10\5\0\0\0\0", 8, DATA_MAX_BYTES, "5 dimensions (expected 1 to 4)");
    expect_idx(t, (const uint8_t *)"\0\0\10\0\0\0\0\0", 8, DATA_MAX_BYTES, "0 dimensions");
    expect_idx(t, (const uint8_t *)"\0\0\10\3\0\0", 6, DATA_MAX_BYTES, "truncated header");
    expect_idx(t, f.b, f.n - 1, DATA_MAX_BYTES, "header says 2x28x28 = 1568 bytes of data, file has 1567");
    uint32_t huge[4] = {60000, 60000, 60000, 60000};
    Buf h = idx_file(4, huge, NULL, 0);
    expect_idx(t, h.b, h.n, DATA_MAX_BYTES, "header claims 12960000000000000000 bytes of data, over the 536870912-byte limit");
    uint32_t zero[3] = {0, 28, 28};
    Buf z = idx_file(3, zero, NULL, 0);
    s = idx_parse(&a, z.b, z.n, "z", DATA_MAX_BYTES, err, sizeof err);
    check(t, s == LL_OK && a.size == 0, "IDX with a zero dimension parses (the dataset refuses it)");
    free(f.b); free(h.b); free(z.b);
}

// ----------------------------------------------------------------------------
// zip + NPY: the npz path, and the dataset builder

static void test_npy(Tally *t) {
    float v[6] = {0, 0.25f, 0.5f, 0.75f, 1, 0.1f};
    Buf f = npy_file("<f4", "(2, 3)", v, sizeof v);
    NpyArray a;
    int s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s == LL_OK && a.dtype == NPY_F4 && a.ndim == 2 && a.shape[1] == 3 && a.count == 6 && npy_get(&a, 3) == 0.75,
          "NPY <f4 (2, 3) reads back: %s", s ? err : "");
    free(f.b);
    f = npy_raw("{\"shape\": (), \"fortran_order\": False, \"descr\": \"|u1\"}", "\7", 1);
    s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s == LL_OK && a.ndim == 0 && a.count == 1 && npy_get(&a, 0) == 7, "NPY scalar, keys in any order, double quotes: %s", s ? err : "");
    free(f.b);
    int64_t l[3] = {-1, 9, 1LL << 40};
    f = npy_file("<i8", "(3,)", l, sizeof l);
    s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s == LL_OK && npy_get(&a, 0) == -1 && npy_get(&a, 2) == 1099511627776.0, "NPY <i8 reads signed values");
    free(f.b);

    struct { const char *dict; size_t data; const char *want; } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4, "dtype '>f4' is big-endian"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, "dtype '<c8' is not one of"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, "structured dtypes"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4, "fortran_order True is not supported"},
        {"{'descr': '<f4', 'shape': (1,), }", 4, "missing 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "unknown key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "'descr' appears twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12, "shape (2, 2) of <f4 needs 16 bytes of data, the file has 12"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, "non-negative integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4, "does not fit in 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967295), }", 4, "needs more than 2^64 bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", 4, "unexpected text after the dict"},
        {"['descr']", 4, "the header is not a dict"},
    };
    uint8_t zeros[16] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = npy_raw(bad[i].dict, zeros, bad[i].data);
        err[0] = '\0';
        s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
        check(t, s != LL_OK && contains(err, bad[i].want), "NPY bad header %zu: want \"%s\", got \"%s\"", i, bad[i].want, err);
        free(f.b);
    }
    f = npy_file("<f4", "(1,)", zeros, 4);
    f.b[6] = 3;
    s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s != LL_OK && contains(err, "version 3.0 is not supported"), "NPY version 3: %s", err);
    f.b[6] = 1; f.b[8] = 0xff; f.b[9] = 0xff;
    s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s != LL_OK && contains(err, "runs past the end of the file"), "NPY header length past the end: %s", err);
    f.b[6] = 2;
    s = npy_parse(&a, f.b, f.n, "a.npy", err, sizeof err);
    check(t, s != LL_OK && contains(err, "over the 65536-byte limit"), "NPY v2 header length over the cap: %s", err);
    free(f.b);
}

static Buf npz_of(const char *data_descr, const char *data_shape, const void *data, size_t data_n, const char *label_descr,
                  const void *labels, size_t labels_n, size_t n_labels, int method, int zip64) {
    Entry e[2] = {{"data.npy", npy_file(data_descr, data_shape, data, data_n), method}, {"labels.npy", {0}, method}};
    int count = 1;
    if (labels) {
        char shape[40];
        snprintf(shape, sizeof shape, "(%zu,)", n_labels);
        e[1].body = npy_file(label_descr, shape, labels, labels_n);
        count = 2;
    }
    Buf z = zip_file(e, count, zip64);
    free(e[0].body.b);
    free(e[1].body.b);
    return z;
}

static void test_npz_and_dataset(Tally *t) {
    enum { N = 3 };
    uint8_t img[N * 784], lab[N] = {0, 9, 4};
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 37);
    // uint8 with labels, stored / deflated / ZIP64 extras, (N, 28, 28) and (N, 784).
    for (int variant = 0; variant < 4; variant++) {
        Buf z = npz_of("|u1", variant == 3 ? "(3, 784)" : "(3, 28, 28)", img, sizeof img, "|u1", lab, N, N, variant == 1 ? 8 : 0,
                       variant == 2);
        DataFile f;
        Dataset d;
        int s = open_build(z.b, z.n, "x.npz", DATA_MAX_BYTES, &d, &f);
        check(t, s == LL_OK && f.format == DATA_NPZ && d.n == N && memcmp(d.images, img, sizeof img) == 0 && d.labels &&
                     memcmp(d.labels, lab, N) == 0, "npz uint8 variant %d reads back: %s", variant, s ? err : "");
        if (s == LL_OK) { dataset_free(&d); datafile_free(&f); }
        // gzipped npz too
        Buf g = gzip_of(z.b, z.n);
        s = open_build(g.b, g.n, "x.npz.gz", DATA_MAX_BYTES, &d, &f);
        check(t, s == LL_OK && f.gzipped && d.n == N, "gzipped npz variant %d: %s", variant, s ? err : "");
        if (s == LL_OK) { dataset_free(&d); datafile_free(&f); }
        free(g.b);
        free(z.b);
    }
    // float32 / float64 without labels: round(255 x).
    float fimg[N * 784];
    double dimg[N * 784];
    for (size_t i = 0; i < N * 784; i++) fimg[i] = (float)(dimg[i] = (double)(i % 256) / 255.0);
    int64_t wide[N] = {3, 0, 9};
    int32_t mid[N] = {1, 2, 3};
    for (int v = 0; v < 3; v++) {
        Buf z = v == 0 ? npz_of("<f4", "(3, 784)", fimg, sizeof fimg, NULL, NULL, 0, 0, 8, 0)
              : v == 1 ? npz_of("<f8", "(3, 28, 28)", dimg, sizeof dimg, "<i8", wide, sizeof wide, N, 0, 0)
                       : npz_of("<f4", "(3, 28, 28)", fimg, sizeof fimg, "<i4", mid, sizeof mid, N, 8, 1);
        DataFile f;
        Dataset d;
        int s = open_build(z.b, z.n, "f.npz", DATA_MAX_BYTES, &d, &f);
        int ok = s == LL_OK && d.n == N;
        for (size_t i = 0; ok && i < N * 784; i++) ok = d.images[i] == i % 256;
        if (ok && v == 1) ok = d.labels && d.labels[0] == 3 && d.labels[2] == 9;
        if (ok && v == 2) ok = d.labels && d.labels[1] == 2;
        if (ok && v == 0) ok = d.labels == NULL;
        check(t, ok, "npz float variant %d becomes round(255 x) with its labels: %s", v, s ? err : "");
        if (s == LL_OK) { dataset_free(&d); datafile_free(&f); }
        free(z.b);
    }
    // Refusals of the builder and of the archive.
    fimg[784 + 5] = NAN;
    Buf z = npz_of("<f4", "(3, 784)", fimg, sizeof fimg, NULL, NULL, 0, 0, 0, 0);
    expect_refused(t, &z, 0, "f: data.npy: value 789 (image 1, pixel 5) is NaN", "NaN float");
    free(z.b);
    fimg[784 + 5] = 1.5f;
    z = npz_of("<f4", "(3, 784)", fimg, sizeof fimg, NULL, NULL, 0, 0, 0, 0);
    expect_refused(t, &z, 0, "value 789 (image 1, pixel 5) is 1.5, outside [0, 1]", "float above 1");
    free(z.b);
    fimg[784 + 5] = 0.5f;
    z = npz_of("|u1", "(3, 28, 27)", img, 3 * 28 * 27, NULL, NULL, 0, 0, 0, 0);
    expect_refused(t, &z, 0, "f: data.npy: expected n x 28 x 28 (or n x 784) images, got 3 x 28 x 27", "wrong shape");
    free(z.b);
    z = npz_of("|u1", "(0, 784)", img, 0, NULL, NULL, 0, 0, 0, 0);
    expect_refused(t, &z, 0, "no images", "zero images");
    free(z.b);
    int64_t big_img[784] = {0};
    z = npz_of("<i8", "(1, 784)", big_img, sizeof big_img, NULL, NULL, 0, 0, 0, 0);
    expect_refused(t, &z, 0, "images must be uint8 (|u1) or floats in [0, 1] (<f4, <f8), got <i8", "integer images");
    free(z.b);
    uint8_t lab10[N] = {0, 10, 1};
    z = npz_of("|u1", "(3, 784)", img, sizeof img, "|u1", lab10, N, N, 0, 0);
    expect_refused(t, &z, 0, "f: labels.npy: label 10 at 1 is outside 0..9", "label 10");
    free(z.b);
    int64_t neg[N] = {0, 1, -3};
    z = npz_of("|u1", "(3, 784)", img, sizeof img, "<i8", neg, sizeof neg, N, 0, 0);
    expect_refused(t, &z, 0, "label -3 at 2 is outside 0..9", "negative label");
    free(z.b);
    z = npz_of("|u1", "(3, 784)", img, sizeof img, "|u1", lab, 2, 2, 0, 0);
    expect_refused(t, &z, 0, "f: data.npy: 3 images but 2 labels in f: labels.npy", "count mismatch");
    free(z.b);
    float flab[N] = {0, 1, 2};
    z = npz_of("|u1", "(3, 784)", img, sizeof img, "<f4", flab, sizeof flab, N, 0, 0);
    expect_refused(t, &z, 0, "labels must be integers (|u1, <i4 or <i8), got <f4", "float labels");
    free(z.b);
    Entry other[1] = {{"readme.txt", {(uint8_t *)"hello", 5, 5}, 0}};
    z = zip_file(other, 1, 0);
    expect_refused(t, &z, 0, "f: no data.npy in the archive (it holds readme.txt)", "zip without data.npy");
    free(z.b);
    z = npz_of("|u1", "(3, 784)", img, sizeof img, NULL, NULL, 0, 0, 8, 0);
    expect_refused(t, &z, 1000, "entry data.npy expands to 2480 bytes, over the 1000-byte limit", "entry over the limit");
    Buf c = {0};
    put(&c, z.b, z.n);
    c.b[70] ^= 0x55;   // inside the deflated data
    expect_refused(t, &c, 0, "data.npy", "corrupt deflate data");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n);
    c.b[14] ^= 1;   // the local header's CRC
    expect_refused(t, &c, 0, "local header's CRC or sizes disagree", "local header mismatch");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n);
    size_t cd = z.n - 22 - 46 - 8;   // the central directory record's CRC field
    c.b[cd + 16] ^= 1;
    c.b[14] ^= 1;   // keep the local header in agreement: then the data's CRC is what fails
    expect_refused(t, &c, 0, "CRC32 mismatch", "entry CRC32");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n);
    c.b[cd + 26] = 0x40;   // the central directory's uncompressed size: 4 MiB more, from about 400 bytes
    c.b[24] = 0x40;        // and the local header's, so that the two agree
    expect_refused(t, &c, 0, "more than DEFLATE can expand", "entry size over 1032:1");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n);
    c.b[cd + 10] = 12;   // bzip2
    expect_refused(t, &c, 0, "compression method 12", "unsupported method");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n);
    c.b[cd + 8] = 1;   // encrypted
    expect_refused(t, &c, 0, "is encrypted", "encrypted entry");
    free(c.b);
    c = (Buf){0};
    put(&c, z.b, z.n - 1);
    expect_refused(t, &c, 0, "no end-of-central-directory record", "truncated zip");
    free(c.b);
    Entry twice[2] = {{"data.npy", {(uint8_t *)"x", 1, 1}, 0}, {"data.npy", {(uint8_t *)"y", 1, 1}, 0}};
    c = zip_file(twice, 2, 0);
    expect_refused(t, &c, 0, "entry data.npy appears twice", "duplicate entry");
    free(c.b);
    // Every truncation and seeded byte mutations: refused or read, never a sanitizer report.
    int accepted = 0;
    for (size_t len = 0; len < z.n; len++) {
        DataFile f;
        Dataset d;
        if (open_build(z.b, len, "f", DATA_MAX_BYTES, &d, &f) == LL_OK) { accepted++; dataset_free(&d); datafile_free(&f); }
    }
    check(t, accepted == 0, "%d truncations of an npz were accepted", accepted);
    Buf g = gzip_of(z.b, z.n);
    uint64_t x = 88172645463325252ull;
    int survived = 0;
    for (int round = 0; round < 6000; round++) {
        const Buf *src = round % 2 ? &g : &z;
        Buf m = {0};
        put(&m, src->b, src->n);
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            m.b[x % m.n] = (uint8_t)(x >> 32);
        }
        DataFile f;
        Dataset d;
        if (open_build(m.b, m.n, "m", DATA_MAX_BYTES, &d, &f) == LL_OK) { survived++; dataset_free(&d); datafile_free(&f); }
        free(m.b);
    }
    check(t, 1, "mutations");
    printf("npz/gzip mutations: 6000 tried, %d still read as a dataset (bytes inside the images)\n", survived);
    free(g.b);
    free(z.b);
}

static void test_idx_datasets(Tally *t) {
    enum { N = 4 };
    uint8_t img[N * 784], lab[N] = {7, 0, 9, 3};
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 13);
    uint32_t di[3] = {N, 28, 28}, dl[1] = {N};
    Buf fi = idx_file(3, di, img, sizeof img), fl = idx_file(1, dl, lab, N);
    Buf gi = gzip_of(fi.b, fi.n), gl = gzip_of(fl.b, fl.n);
    const Buf *pairs[][2] = {{&fi, &fl}, {&fl, &fi}, {&gi, &gl}, {&gl, &fi}};
    for (int p = 0; p < 4; p++) {
        DataFile a, b;
        Dataset d;
        int s = datafile_open(&a, pairs[p][0]->b, pairs[p][0]->n, "a", DATA_MAX_BYTES, err, sizeof err);
        s = s ? s : datafile_open(&b, pairs[p][1]->b, pairs[p][1]->n, "b", DATA_MAX_BYTES, err, sizeof err);
        s = s ? s : dataset_build(&d, &a, &b, err, sizeof err);
        check(t, s == LL_OK && d.n == N && memcmp(d.images, img, sizeof img) == 0 && memcmp(d.labels, lab, N) == 0,
              "IDX pair %d (either order, gzipped or not) reads back: %s", p, s ? err : "");
        if (s == LL_OK) { dataset_free(&d); datafile_free(&a); datafile_free(&b); }
    }
    // Images alone: unlabelled.
    DataFile a, b;
    Dataset d;
    int s = open_build(gi.b, gi.n, "imgs.gz", DATA_MAX_BYTES, &d, &a);
    check(t, s == LL_OK && d.n == N && d.labels == NULL && a.gzipped, "IDX images alone are an unlabelled dataset: %s", s ? err : "");
    if (s == LL_OK) { dataset_free(&d); datafile_free(&a); }
    // Refusals.
    expect_refused(t, &fl, 0, "f: this looks like a label file (one dimension)", "labels alone");
    uint8_t lab12[N] = {1, 2, 12, 3};
    Buf bad_l = idx_file(1, dl, lab12, N);
    uint32_t dl3[1] = {3};
    Buf short_l = idx_file(1, dl3, lab, 3);
    uint32_t d32[3] = {1, 32, 32};
    Buf f32 = idx_file(3, d32, img, 1024);
    struct { const Buf *a, *b; const char *want; } cases[] = {
        {&fi, &bad_l, "b: label 12 at 2 is outside 0..9"},
        {&fi, &short_l, "a: 4 images but 3 labels in b"},
        {&fl, &fl, "a and b are both label files"},
        {&f32, &fl, "a: expected n x 28 x 28 (or n x 784) images, got 1 x 32 x 32"},
        {&fi, &fi, "b: expected one dimension for labels, got 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s = datafile_open(&a, cases[i].a->b, cases[i].a->n, "a", DATA_MAX_BYTES, err, sizeof err);
        s = s ? s : datafile_open(&b, cases[i].b->b, cases[i].b->n, "b", DATA_MAX_BYTES, err, sizeof err);
        int built = s ? s : dataset_build(&d, &a, &b, err, sizeof err);
        check(t, s == LL_OK && built != LL_OK && contains(err, cases[i].want), "IDX pair case %zu: want \"%s\", got \"%s\"", i,
              cases[i].want, err);
        if (built == LL_OK) dataset_free(&d);
        if (s == LL_OK) { datafile_free(&a); datafile_free(&b); }
    }
    Buf z = npz_of("|u1", "(4, 784)", img, sizeof img, NULL, NULL, 0, 0, 0, 0);
    datafile_open(&a, fi.b, fi.n, "a", DATA_MAX_BYTES, err, sizeof err);
    datafile_open(&b, z.b, z.n, "b.npz", DATA_MAX_BYTES, err, sizeof err);
    s = dataset_build(&d, &a, &b, err, sizeof err);
    check(t, s != LL_OK && contains(err, "b.npz: an npz file holds the images and the labels: give it alone"), "IDX + npz: %s", err);
    datafile_free(&a); datafile_free(&b);
    Buf junk = {0};
    put(&junk, "hello world", 11);
    expect_refused(t, &junk, 0, "f: not a recognised data file (it starts 68 65 6c 6c)", "text file");
    Buf gg = gzip_of(gi.b, gi.n);
    expect_refused(t, &gg, 0, "a gzip file inside a gzip file", "double gzip");
    Buf empty = {0};
    expect_refused(t, &empty, 0, "the file is empty", "empty file");
    uint32_t zero[3] = {0, 28, 28};
    Buf z0 = idx_file(3, zero, NULL, 0);
    expect_refused(t, &z0, 0, "f: no images", "zero images");
    expect_refused(t, &gi, 3000, "the data expands past the 3000-byte limit", "gzip over the caller's limit");
    free(fi.b); free(fl.b); free(gi.b); free(gl.b); free(bad_l.b); free(short_l.b); free(f32.b); free(z.b); free(gg.b);
    free(z0.b); free(junk.b);
}

// A real numpy file, if the fixture is there (tests/fixtures/data/, made by numpy): np.savez_compressed.
static void test_numpy_fixture(Tally *t) {
    FILE *fp = fopen("tests/fixtures/data/numpy-compressed.npz", "rb");
    if (!fp) {
        printf("(no tests/fixtures/data/numpy-compressed.npz: run from the repository root to check a numpy-made file)\n");
        return;
    }
    Buf b = {0};
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) put(&b, chunk, n);
    fclose(fp);
    DataFile f;
    Dataset d;
    int s = open_build(b.b, b.n, "numpy-compressed.npz", DATA_MAX_BYTES, &d, &f);
    check(t, s == LL_OK && d.n == 5 && d.labels && d.labels[4] == 4 && d.images[783] == 255 && d.images[784] == 0,
          "numpy's savez_compressed file reads (5 images, labels 0..4): %s", s ? err : "");
    if (s == LL_OK) { dataset_free(&d); datafile_free(&f); }
    free(b.b);
}

int main(void) {
    Tally t = {0};
    test_crc_inflate(&t);
    test_gzip(&t);
    test_idx(&t);
    test_npy(&t);
    test_npz_and_dataset(&t);
    test_idx_datasets(&t);
    test_numpy_fixture(&t);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    return t.failed != 0;
}
