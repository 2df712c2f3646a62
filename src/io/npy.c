// The NPY reader. The header's length is checked against its cap and the buffer before it is read;
// the dict is parsed by a small scanner that accepts only what numpy writes (three known keys, each
// once, string / bool / tuple-of-integers values); the shape's product is computed with overflow
// checks and must match the data's length exactly.
#include "io/npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/bytes.h"
#include "io/error.h"
#include "status.h"

static const struct {
    const char *descr;
    NpyDtype dtype;
} DTYPES[] = {
    {"|u1", NPY_U1}, {"<u1", NPY_U1}, {"<i4", NPY_I4}, {"<i8", NPY_I8}, {"<f4", NPY_F4}, {"<f8", NPY_F8},
};

size_t npy_itemsize(NpyDtype d) {
    static const size_t SIZE[] = {[NPY_U1] = 1, [NPY_I4] = 4, [NPY_I8] = 8, [NPY_F4] = 4, [NPY_F8] = 8};
    return SIZE[d];
}

int npy_looks_like(const uint8_t *bytes, size_t len) { return len >= 6 && memcmp(bytes, "\x93NUMPY", 6) == 0; }

double npy_get(const NpyArray *a, uint64_t i) {
    const uint8_t *p = a->data + i * npy_itemsize(a->dtype);
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    switch (a->dtype) {
    case NPY_U1: return p[0];
    case NPY_I4: u32 = read_u32le(p); return (double)(int32_t)u32;
    case NPY_I8: u64 = read_u64le(p); return (double)(int64_t)u64;
    case NPY_F4: u32 = read_u32le(p); memcpy(&f, &u32, 4); return f;
    case NPY_F8: u64 = read_u64le(p); memcpy(&d, &u64, 8); return d;
    }
    return 0;
}

typedef struct {
    const char *s;     // the header dict (ASCII)
    size_t n, pos;
    const char *name;
    char *err;
    size_t errlen;
} Scan;

static int serr(Scan *c, const char *fmt, ...) {
    char what[200];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    return io_fail(c->err, c->errlen, LL_EFORMAT, "%s: NPY header, character %zu: %s", c->name, c->pos, what);
}

static void skip_spaces(Scan *c) {
    while (c->pos < c->n && c->s[c->pos] == ' ') c->pos++;
}

static int eat(Scan *c, char ch) {
    skip_spaces(c);
    if (c->pos < c->n && c->s[c->pos] == ch) {
        c->pos++;
        return 1;
    }
    return 0;
}

// A quoted string ('...' or "..."; no escapes: numpy's keys and dtype strings have none) into out.
static int string(Scan *c, char *out, size_t cap) {
    skip_spaces(c);
    if (c->pos >= c->n || (c->s[c->pos] != '\'' && c->s[c->pos] != '"')) return serr(c, "expected a quoted string");
    char q = c->s[c->pos++];
    size_t k = 0;
    while (c->pos < c->n && c->s[c->pos] != q) {
        if (c->s[c->pos] == '\\') return serr(c, "escapes in strings are not supported");
        if (k + 1 >= cap) return serr(c, "string longer than %zu characters", cap - 1);
        out[k++] = c->s[c->pos++];
    }
    if (c->pos >= c->n) return serr(c, "unterminated string");
    c->pos++;
    out[k] = '\0';
    return LL_OK;
}

static int shape(Scan *c, NpyArray *a) {
    if (!eat(c, '(')) return serr(c, "shape must be a tuple");
    a->ndim = 0;
    for (;;) {
        if (eat(c, ')')) return LL_OK;
        if (a->ndim == NPY_MAX_DIMS) return serr(c, "more than %d dimensions", NPY_MAX_DIMS);
        skip_spaces(c);
        if (c->pos >= c->n || c->s[c->pos] < '0' || c->s[c->pos] > '9') return serr(c, "shape entries must be non-negative integers");
        uint64_t v = 0;
        while (c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
            unsigned digit = (unsigned)(c->s[c->pos++] - '0');
            if (v > (UINT64_MAX - digit) / 10) return serr(c, "a dimension does not fit in 64 bits");
            v = v * 10 + digit;
        }
        a->shape[a->ndim++] = v;
        if (eat(c, ',')) continue;
        if (eat(c, ')')) return LL_OK;
        return serr(c, "expected ',' or ')' in the shape");
    }
}

static int dict(Scan *c, NpyArray *a) {
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    if (!eat(c, '{')) return serr(c, "the header is not a dict");
    for (;;) {
        if (eat(c, '}')) break;
        char key[32];
        if (string(c, key, sizeof key)) return LL_EFORMAT;
        if (!eat(c, ':')) return serr(c, "expected ':' after '%s'", key);
        if (strcmp(key, "descr") == 0) {
            if (seen_descr++) return serr(c, "'descr' appears twice");
            skip_spaces(c);
            if (c->pos < c->n && c->s[c->pos] == '[') return serr(c, "structured dtypes are not supported");
            char descr[32];
            if (string(c, descr, sizeof descr)) return LL_EFORMAT;
            size_t i = 0, n = sizeof DTYPES / sizeof DTYPES[0];
            while (i < n && strcmp(DTYPES[i].descr, descr) != 0) i++;
            if (i == n) {
                if (descr[0] == '>' && descr[1] != '\0')
                    return serr(c, "dtype '%s' is big-endian (only little-endian arrays are read)", descr);
                return serr(c, "dtype '%s' is not one of |u1, <i4, <i8, <f4, <f8", descr);
            }
            a->dtype = DTYPES[i].dtype;
            snprintf(a->descr, sizeof a->descr, "%s", DTYPES[i].descr);
        } else if (strcmp(key, "fortran_order") == 0) {
            if (seen_order++) return serr(c, "'fortran_order' appears twice");
            skip_spaces(c);
            if (c->n - c->pos >= 5 && memcmp(c->s + c->pos, "False", 5) == 0) {
                c->pos += 5;
            } else if (c->n - c->pos >= 4 && memcmp(c->s + c->pos, "True", 4) == 0) {
                return serr(c, "fortran_order True is not supported (save a C-ordered array: np.ascontiguousarray)");
            } else {
                return serr(c, "fortran_order must be True or False");
            }
        } else if (strcmp(key, "shape") == 0) {
            if (seen_shape++) return serr(c, "'shape' appears twice");
            if (shape(c, a)) return LL_EFORMAT;
        } else {
            return serr(c, "unknown key '%s'", key);
        }
        if (eat(c, ',')) continue;
        if (eat(c, '}')) break;
        return serr(c, "expected ',' or '}'");
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return serr(c, "missing '%s'", !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    // What follows the dict: spaces (padding) and one newline, at the header's end.
    skip_spaces(c);
    if (c->pos != c->n - 1 || c->s[c->pos] != '\n') return serr(c, "unexpected text after the dict");
    return LL_OK;
}

int npy_parse(NpyArray *a, const uint8_t *bytes, size_t len, const char *name, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    if (len < 10) return io_fail(err, errlen, LL_EFORMAT, "%s: %zu bytes is too short for an NPY file", name, len);
    if (!npy_looks_like(bytes, len)) return io_fail(err, errlen, LL_EFORMAT, "%s: not an NPY file (bad magic)", name);
    int major = bytes[6], minor = bytes[7];
    if ((major != 1 && major != 2) || minor != 0)
        return io_fail(err, errlen, LL_EFORMAT, "%s: NPY format version %d.%d is not supported (1.0 or 2.0)", name, major, minor);
    size_t prefix = major == 1 ? 10 : 12;
    if (len < prefix) return io_fail(err, errlen, LL_EFORMAT, "%s: truncated NPY header", name);
    size_t hlen = major == 1 ? read_u16le(bytes + 8) : read_u32le(bytes + 8);
    if (hlen > NPY_MAX_HEADER)
        return io_fail(err, errlen, LL_EFORMAT, "%s: NPY header of %zu bytes is over the %d-byte limit", name, hlen, NPY_MAX_HEADER);
    if (len - prefix < hlen)
        return io_fail(err, errlen, LL_EFORMAT, "%s: NPY header of %zu bytes runs past the end of the file (%zu bytes)", name, hlen, len);
    for (size_t i = 0; i < hlen; i++) {
        uint8_t ch = bytes[prefix + i];
        if ((ch < 0x20 || ch > 0x7e) && ch != '\n')
            return io_fail(err, errlen, LL_EFORMAT, "%s: NPY header byte %zu is not printable ASCII", name, prefix + i);
    }
    Scan c = {(const char *)bytes + prefix, hlen, 0, name, err, errlen};
    if (hlen == 0) return io_fail(err, errlen, LL_EFORMAT, "%s: empty NPY header", name);
    if (dict(&c, a) != LL_OK) return LL_EFORMAT;

    uint64_t count = 1;
    char dims[160] = "";
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != 0 && count > UINT64_MAX / a->shape[i])
            return io_fail(err, errlen, LL_EFORMAT, "%s: shape's element count does not fit in 64 bits", name);
        count *= a->shape[i];
        size_t used = strlen(dims);
        snprintf(dims + used, sizeof dims - used, i ? ", %llu" : "%llu", (unsigned long long)a->shape[i]);
    }
    size_t item = npy_itemsize(a->dtype), have = len - prefix - hlen;
    if (count > UINT64_MAX / item)
        return io_fail(err, errlen, LL_EFORMAT, "%s: shape (%s) of %s needs more than 2^64 bytes", name, dims, a->descr);
    if (count * item != have)
        return io_fail(err, errlen, LL_EFORMAT, "%s: shape (%s) of %s needs %llu bytes of data, the file has %zu", name, dims,
                       a->descr, (unsigned long long)(count * item), have);
    a->count = count;
    a->data = bytes + prefix + hlen;
    return LL_OK;
}
