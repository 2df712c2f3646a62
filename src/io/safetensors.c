// The safetensors reader and writer. The reader trusts nothing: the header length is checked against
// the limit and the buffer before anything is allocated, the JSON is parsed by a small recursive-descent
// parser that accepts only the shape safetensors uses (no floats, no nesting beyond it, no unknown
// fields), every string is validated UTF-8, and the tensors must tile the data section exactly.
#include "io/safetensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/error.h"
#include "status.h"

static const struct {
    const char *name;
    size_t size;
} DTYPES[ST_NUM_DTYPES] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1},     [ST_I8] = {"I8", 1},     [ST_F8_E5M2] = {"F8_E5M2", 1},
    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_I16] = {"I16", 2}, [ST_U16] = {"U16", 2}, [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},   [ST_U32] = {"U32", 4},   [ST_F32] = {"F32", 4},
    [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8},   [ST_U64] = {"U64", 8},
};

const char *st_dtype_name(StDtype d) { return d < ST_NUM_DTYPES ? DTYPES[d].name : "?"; }
size_t st_dtype_size(StDtype d) { return d < ST_NUM_DTYPES ? DTYPES[d].size : 0; }

uint64_t st_nbytes(StDtype d, int ndim, const uint64_t *shape, int *overflow) {
    uint64_t n = st_dtype_size(d);
    *overflow = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > UINT64_MAX / shape[i]) {
            *overflow = 1;
            return 0;
        }
        n *= shape[i];
    }
    return n;
}


// Length of the valid UTF-8 sequence at s (n bytes available), or 0: no overlongs, no surrogates,
// nothing above U+10FFFF.
static size_t utf8_sequence(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1fu, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0fu, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07u, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static uint64_t read_u64le(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

// --- the header's JSON ------------------------------------------------------------------------
typedef struct {
    const uint8_t *s;      // the header
    size_t n, pos;
    char *arena;           // decoded strings; each is no longer than its JSON form, so n + 1 bytes suffice
    size_t arena_used;
    char *err;
    size_t errlen;
} Parser;

static int perr(Parser *p, const char *fmt, ...) {
    char what[200];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    return io_fail(p->err, p->errlen, LL_EFORMAT, "safetensors header, byte %zu: %s", p->pos, what);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(Parser *p) { return p->pos < p->n ? p->s[p->pos] : -1; }

static int expect(Parser *p, char c, const char *context) {
    skip_ws(p);
    if (peek(p) != c) {
        if (p->pos >= p->n) return perr(p, "the header ends where '%c' %s was expected", c, context);
        return perr(p, "expected '%c' %s", c, context);
    }
    p->pos++;
    return LL_OK;
}

static int hex4(Parser *p, uint32_t *out) {
    if (p->n - p->pos < 4) return perr(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p->s[p->pos + i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return perr(p, "bad hex digit in a \\u escape");
        v = v << 4 | (uint32_t)d;
    }
    p->pos += 4;
    *out = v;
    return LL_OK;
}

// A JSON string, decoded into the arena. Strings containing NUL are refused (they become C strings).
static int parse_string(Parser *p, const char **out) {
    skip_ws(p);
    if (peek(p) != '"') return perr(p, p->pos >= p->n ? "the header ends where a string was expected" : "expected a string");
    p->pos++;
    char *dst = p->arena + p->arena_used;
    size_t k = 0;
    for (;;) {
        if (p->pos >= p->n) return perr(p, "unterminated string");
        uint8_t c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) return perr(p, "control character 0x%02x inside a string", c);
        if (c >= 0x80) {
            size_t len = utf8_sequence(p->s + p->pos, p->n - p->pos);
            if (!len) return perr(p, "invalid UTF-8 in a string");
            memcpy(dst + k, p->s + p->pos, len);
            k += len;
            p->pos += len;
            continue;
        }
        p->pos++;
        if (c != '\\') {
            dst[k++] = (char)c;
            continue;
        }
        if (p->pos >= p->n) return perr(p, "unterminated string");
        uint8_t e = p->s[p->pos++];
        uint32_t cp;
        switch (e) {
        case '"': case '\\': case '/': dst[k++] = (char)e; continue;
        case 'b': dst[k++] = '\b'; continue;
        case 'f': dst[k++] = '\f'; continue;
        case 'n': dst[k++] = '\n'; continue;
        case 'r': dst[k++] = '\r'; continue;
        case 't': dst[k++] = '\t'; continue;
        case 'u': break;
        default: p->pos--; return perr(p, "unknown escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
        }
        if (hex4(p, &cp)) return LL_EFORMAT;
        if (cp >= 0xdc00 && cp <= 0xdfff) return perr(p, "lone low surrogate in a \\u escape");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low;
            if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                return perr(p, "high surrogate without its low half");
            p->pos += 2;
            if (hex4(p, &low)) return LL_EFORMAT;
            if (low < 0xdc00 || low > 0xdfff) return perr(p, "high surrogate without its low half");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        if (cp == 0) return perr(p, "a string contains \\u0000 (NUL)");
        if (cp < 0x80) {
            dst[k++] = (char)cp;
        } else if (cp < 0x800) {
            dst[k++] = (char)(0xc0 | cp >> 6);
            dst[k++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            dst[k++] = (char)(0xe0 | cp >> 12);
            dst[k++] = (char)(0x80 | (cp >> 6 & 0x3f));
            dst[k++] = (char)(0x80 | (cp & 0x3f));
        } else {
            dst[k++] = (char)(0xf0 | cp >> 18);
            dst[k++] = (char)(0x80 | (cp >> 12 & 0x3f));
            dst[k++] = (char)(0x80 | (cp >> 6 & 0x3f));
            dst[k++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    dst[k] = '\0';
    p->arena_used += k + 1;
    *out = dst;
    return LL_OK;
}

// A non-negative JSON integer that fits in 64 bits: no sign, fraction, exponent or leading zero.
static int parse_uint(Parser *p, uint64_t *out, const char *what, const char *name) {
    skip_ws(p);
    int c = peek(p);
    if (c == '-') return perr(p, "tensor %.80s: %s must not be negative", name, what);
    if (c < '0' || c > '9') return perr(p, "tensor %.80s: %s must be integers", name, what);
    uint64_t v = 0;
    size_t start = p->pos;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        uint64_t d = p->s[p->pos] - '0';
        if (v > (UINT64_MAX - d) / 10) return perr(p, "tensor %.80s: a number in %s is too large", name, what);
        v = v * 10 + d;
        p->pos++;
    }
    if (p->s[start] == '0' && p->pos - start > 1) return perr(p, "tensor %.80s: a number in %s has a leading zero", name, what);
    c = peek(p);
    if (c == '.' || c == 'e' || c == 'E') return perr(p, "tensor %.80s: %s must be integers", name, what);
    *out = v;
    return LL_OK;
}

// [u, u, ...] with at most max entries.
static int parse_uint_array(Parser *p, uint64_t *out, int max, int *count, const char *what, const char *name) {
    skip_ws(p);
    if (peek(p) != '[') return perr(p, "tensor %.80s: %s must be an array", name, what);
    p->pos++;
    *count = 0;
    skip_ws(p);
    if (peek(p) == ']') {
        p->pos++;
        return LL_OK;
    }
    for (;;) {
        if (*count == max) return perr(p, "tensor %.80s: %s has more than %d entries", name, what, max);
        if (parse_uint(p, &out[(*count)++], what, name)) return LL_EFORMAT;
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == ']') return LL_OK;
        if (c != ',') {
            p->pos--;
            return perr(p, "tensor %.80s: expected ',' or ']' in %s", name, what);
        }
    }
}

static int parse_tensor(Parser *p, StTensor *t) {
    if (expect(p, '{', "to open a tensor's description")) return LL_EFORMAT;
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            const char *key;
            if (parse_string(p, &key) || expect(p, ':', "after a key")) return LL_EFORMAT;
            if (strcmp(key, "dtype") == 0) {
                if (seen_dtype++) return perr(p, "tensor %.80s: \"dtype\" appears twice", t->name);
                const char *dtype;
                if (parse_string(p, &dtype)) return LL_EFORMAT;
                int d = 0;
                while (d < ST_NUM_DTYPES && strcmp(DTYPES[d].name, dtype) != 0) d++;
                if (d == ST_NUM_DTYPES) return perr(p, "tensor %.80s: unknown dtype \"%.20s\"", t->name, dtype);
                t->dtype = (StDtype)d;
            } else if (strcmp(key, "shape") == 0) {
                if (seen_shape++) return perr(p, "tensor %.80s: \"shape\" appears twice", t->name);
                if (parse_uint_array(p, t->shape, ST_MAX_DIMS, &t->ndim, "shape", t->name)) return LL_EFORMAT;
            } else if (strcmp(key, "data_offsets") == 0) {
                if (seen_offsets++) return perr(p, "tensor %.80s: \"data_offsets\" appears twice", t->name);
                uint64_t offsets[2];
                int count;
                if (parse_uint_array(p, offsets, 2, &count, "data_offsets", t->name)) return LL_EFORMAT;
                if (count != 2) return perr(p, "tensor %.80s: data_offsets must be [begin, end]", t->name);
                t->begin = offsets[0];
                t->end = offsets[1];
            } else {
                return perr(p, "tensor %.80s: unexpected field \"%.40s\"", t->name, key);
            }
            skip_ws(p);
            int c = peek(p);
            if (c == '}') {
                p->pos++;
                break;
            }
            if (c != ',') return perr(p, "expected ',' or '}' in the description of tensor %.80s", t->name);
            p->pos++;
        }
    }
    if (!seen_dtype) return perr(p, "tensor %.80s has no \"dtype\"", t->name);
    if (!seen_shape) return perr(p, "tensor %.80s has no \"shape\"", t->name);
    if (!seen_offsets) return perr(p, "tensor %.80s has no \"data_offsets\"", t->name);
    return LL_OK;
}

// Appends to a growing array; the counts are bounded by the header's size.
static void *grow(void *array, size_t *capacity, size_t count, size_t item) {
    if (count < *capacity) return array;
    size_t next = *capacity ? *capacity * 2 : 16;
    void *bigger = realloc(array, next * item);
    if (bigger) *capacity = next;
    return bigger;
}

static int parse_metadata(Parser *p, StFile *f, size_t *capacity) {
    if (expect(p, '{', "to open __metadata__")) return LL_EFORMAT;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        return LL_OK;
    }
    for (;;) {
        StMeta m;
        if (parse_string(p, &m.key) || expect(p, ':', "after a key")) return LL_EFORMAT;
        skip_ws(p);
        if (peek(p) != '"') return perr(p, "__metadata__: the value of \"%.80s\" is not a string", m.key);
        if (parse_string(p, &m.value)) return LL_EFORMAT;
        StMeta *bigger = grow(f->meta, capacity, f->num_meta, sizeof(StMeta));
        if (!bigger) return io_fail(p->err, p->errlen, LL_ENOMEM, "out of memory reading the safetensors header");
        f->meta = bigger;
        f->meta[f->num_meta++] = m;
        skip_ws(p);
        int c = peek(p);
        if (c == '}') {
            p->pos++;
            return LL_OK;
        }
        if (c != ',') return perr(p, "expected ',' or '}' in __metadata__");
        p->pos++;
    }
}

static int parse_header(Parser *p, StFile *f) {
    size_t tensor_capacity = 0, meta_capacity = 0;
    int seen_metadata = 0;
    if (peek(p) != '{') return perr(p, "the header must start with '{'");
    p->pos++;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            const char *name;
            if (parse_string(p, &name) || expect(p, ':', "after a tensor name")) return LL_EFORMAT;
            if (strcmp(name, "__metadata__") == 0) {
                if (seen_metadata++) return perr(p, "__metadata__ appears twice");
                if (parse_metadata(p, f, &meta_capacity)) return LL_EFORMAT;
            } else {
                StTensor *bigger = grow(f->tensors, &tensor_capacity, f->num_tensors, sizeof(StTensor));
                if (!bigger) return io_fail(p->err, p->errlen, LL_ENOMEM, "out of memory reading the safetensors header");
                f->tensors = bigger;
                StTensor *t = &f->tensors[f->num_tensors++];
                memset(t, 0, sizeof *t);
                t->name = name;
                if (parse_tensor(p, t)) return LL_EFORMAT;
            }
            skip_ws(p);
            int c = peek(p);
            if (c == '}') {
                p->pos++;
                break;
            }
            if (c != ',') return perr(p, p->pos >= p->n ? "the header ends inside the JSON object" : "expected ',' or '}' after an entry");
            p->pos++;
        }
    }
    skip_ws(p);  // writers pad the header with spaces
    if (p->pos != p->n) return perr(p, "unexpected bytes after the JSON object");
    return LL_OK;
}

// --- checks across entries --------------------------------------------------------------------
static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// A name that appears twice among the n strings at base + i * stride, or NULL.
static const char *find_duplicate(const void *base, size_t n, size_t stride, int *nomem) {
    *nomem = 0;
    if (n < 2) return NULL;
    const char **names = malloc(n * sizeof *names);
    if (!names) {
        *nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) names[i] = *(const char *const *)((const char *)base + i * stride);
    qsort(names, n, sizeof *names, compare_names);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
    free(names);
    return dup;
}

static int compare_ranges(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static void format_shape(char *buf, size_t size, int ndim, const uint64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%llu" : "%llu", (unsigned long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, ")");
}

// Sizes agree with dtype and shape, offsets lie inside the data, and the tensors tile it exactly:
// no overlap, no gap, nothing after the last one (bytes no tensor claims could hide anything).
static int check_layout(StFile *f, char *err, size_t errlen) {
    for (size_t i = 0; i < f->num_tensors; i++) {
        const StTensor *t = &f->tensors[i];
        int overflow;
        uint64_t need = st_nbytes(t->dtype, t->ndim, t->shape, &overflow);
        char shape[160];
        format_shape(shape, sizeof shape, t->ndim, t->shape);
        if (overflow) return io_fail(err, errlen, LL_EFORMAT, "tensor %.80s: shape %s is too large", t->name, shape);
        if (t->begin > t->end)
            return io_fail(err, errlen, LL_EFORMAT, "tensor %.80s: data_offsets [%llu, %llu] run backwards", t->name,
                        (unsigned long long)t->begin, (unsigned long long)t->end);
        if (t->end > f->data_len)
            return io_fail(err, errlen, LL_EFORMAT, "tensor %.80s: data_offsets [%llu, %llu] lie outside the %zu bytes of data",
                        t->name, (unsigned long long)t->begin, (unsigned long long)t->end, f->data_len);
        if (t->end - t->begin != need)
            return io_fail(err, errlen, LL_EFORMAT, "tensor %.80s: data_offsets [%llu, %llu] hold %llu bytes, but %s %s needs %llu",
                        t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                        (unsigned long long)(t->end - t->begin), st_dtype_name(t->dtype), shape, (unsigned long long)need);
    }
    const StTensor **order = malloc((f->num_tensors ? f->num_tensors : 1) * sizeof *order);
    if (!order) return io_fail(err, errlen, LL_ENOMEM, "out of memory checking the safetensors layout");
    for (size_t i = 0; i < f->num_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, f->num_tensors, sizeof *order, compare_ranges);
    uint64_t covered = 0;
    int status = LL_OK;
    for (size_t i = 0; i < f->num_tensors && status == LL_OK; i++) {
        const StTensor *t = order[i];
        if (t->begin < covered)
            status = io_fail(err, errlen, LL_EFORMAT, "tensors %.80s and %.80s overlap (bytes [%llu, %llu) and [%llu, %llu))",
                          order[i - 1]->name, t->name, (unsigned long long)order[i - 1]->begin,
                          (unsigned long long)order[i - 1]->end, (unsigned long long)t->begin, (unsigned long long)t->end);
        else if (t->begin > covered)
            status = io_fail(err, errlen, LL_EFORMAT, "bytes [%llu, %llu) of the data belong to no tensor",
                          (unsigned long long)covered, (unsigned long long)t->begin);
        covered = t->end;
    }
    free(order);
    if (status == LL_OK && covered != f->data_len)
        status = io_fail(err, errlen, LL_EFORMAT, "bytes [%llu, %zu) of the data belong to no tensor", (unsigned long long)covered,
                      f->data_len);
    return status;
}

// --- the reader -------------------------------------------------------------------------------
void st_free(StFile *f) {
    if (!f) return;
    free(f->tensors);
    free(f->meta);
    free(f->strings);
    memset(f, 0, sizeof *f);
}

int st_parse(StFile *f, const uint8_t *bytes, size_t len, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    if (!bytes) return io_fail(err, errlen, LL_EINVAL, "no safetensors data (null pointer)");
    if (len < 8) return io_fail(err, errlen, LL_EFORMAT, "not a safetensors file: %zu bytes, too short for the 8-byte header length", len);
    uint64_t n = read_u64le(bytes);
    if (n > ST_MAX_HEADER)
        return io_fail(err, errlen, LL_EFORMAT, "not a safetensors file: the header claims %llu bytes, more than the %u MiB limit",
                    (unsigned long long)n, ST_MAX_HEADER >> 20);
    if (n > len - 8)
        return io_fail(err, errlen, LL_EFORMAT, "truncated safetensors file: the header claims %llu bytes but only %zu follow",
                    (unsigned long long)n, len - 8);
    if (n < 2) return io_fail(err, errlen, LL_EFORMAT, "not a safetensors file: the header is %llu bytes, too short for JSON", (unsigned long long)n);
    f->data_len = len - 8 - (size_t)n;
    f->strings = malloc((size_t)n + 1);
    if (!f->strings) return io_fail(err, errlen, LL_ENOMEM, "out of memory reading a %llu-byte safetensors header", (unsigned long long)n);

    Parser p = {bytes + 8, (size_t)n, 0, f->strings, 0, err, errlen};
    int status = parse_header(&p, f);
    if (status == LL_OK) {
        int nomem;
        const char *dup = find_duplicate(f->tensors, f->num_tensors, sizeof(StTensor), &nomem);
        if (!dup && !nomem) dup = find_duplicate(f->meta, f->num_meta, sizeof(StMeta), &nomem);
        if (nomem) status = io_fail(err, errlen, LL_ENOMEM, "out of memory checking the safetensors header");
        else if (dup) status = io_fail(err, errlen, LL_EFORMAT, "the name \"%.80s\" appears twice in the safetensors header", dup);
    }
    if (status == LL_OK) status = check_layout(f, err, errlen);
    if (status != LL_OK) {
        st_free(f);
        return status;
    }
    const uint8_t *data = bytes + 8 + n;
    for (size_t i = 0; i < f->num_tensors; i++) f->tensors[i].data = data + f->tensors[i].begin;
    return LL_OK;
}

const StTensor *st_find(const StFile *f, const char *name) {
    for (size_t i = 0; i < f->num_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *st_meta_get(const StFile *f, const char *key) {
    for (size_t i = 0; i < f->num_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

// --- the writer -------------------------------------------------------------------------------
typedef struct {
    char *s;
    size_t len, cap;
    int nomem;
} Text;

static void put(Text *t, const char *s, size_t n) {
    if (t->nomem) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap) cap *= 2;
        char *bigger = realloc(t->s, cap);
        if (!bigger) {
            t->nomem = 1;
            return;
        }
        t->s = bigger;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
}

static void puts_(Text *t, const char *s) { put(t, s, strlen(s)); }

static void put_u64(Text *t, uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    puts_(t, buf);
}

// A JSON string literal; 0 if s is not valid UTF-8.
static int put_string(Text *t, const char *s) {
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s);
    put(t, "\"", 1);
    for (size_t i = 0; i < n;) {
        if (u[i] >= 0x80) {
            size_t len = utf8_sequence(u + i, n - i);
            if (!len) return 0;
            put(t, s + i, len);
            i += len;
        } else if (u[i] == '"' || u[i] == '\\') {
            char esc[2] = {'\\', (char)u[i]};
            put(t, esc, 2);
            i++;
        } else if (u[i] < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", u[i]);
            puts_(t, esc);
            i++;
        } else {
            put(t, s + i, 1);
            i++;
        }
    }
    put(t, "\"", 1);
    return 1;
}

int st_write(const StSpec *tensors, size_t n, const StMeta *meta, size_t n_meta, uint8_t **out, size_t *out_len,
             uint8_t **data, char *err, size_t errlen) {
    *out = NULL;
    *out_len = 0;
    if (data) *data = NULL;
    int nomem, status = LL_OK;
    const char *dup = find_duplicate(tensors, n, sizeof(StSpec), &nomem);
    if (!dup && !nomem) dup = find_duplicate(meta, n_meta, sizeof(StMeta), &nomem);
    if (nomem) return io_fail(err, errlen, LL_ENOMEM, "out of memory writing safetensors");
    if (dup) return io_fail(err, errlen, LL_EINVAL, "the name \"%.80s\" is given twice", dup);

    Text h = {0};
    puts_(&h, "{");
    if (n_meta) {
        puts_(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta && status == LL_OK; i++) {
            if (strcmp(meta[i].key, "__metadata__") == 0 || !meta[i].key[0])
                status = io_fail(err, errlen, LL_EINVAL, "metadata key \"%s\" is not allowed", meta[i].key);
            else if (!put_string(&h, meta[i].key) || (puts_(&h, ":"), !put_string(&h, meta[i].value)))
                status = io_fail(err, errlen, LL_EINVAL, "metadata \"%.80s\" is not valid UTF-8", meta[i].key);
            if (i + 1 < n_meta) puts_(&h, ",");
        }
        puts_(&h, n ? "}," : "}");
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n && status == LL_OK; i++) {
        const StSpec *t = &tensors[i];
        int overflow;
        uint64_t bytes = t->dtype < ST_NUM_DTYPES && t->ndim >= 0 && t->ndim <= ST_MAX_DIMS ? st_nbytes(t->dtype, t->ndim, t->shape, &overflow) : 0;
        if (t->dtype >= ST_NUM_DTYPES || t->ndim < 0 || t->ndim > ST_MAX_DIMS || overflow || offset + bytes < offset ||
            offset + bytes > (uint64_t)(SIZE_MAX / 2)) {
            status = io_fail(err, errlen, LL_EINVAL, "tensor %.80s: bad dtype, shape or size", t->name);
            break;
        }
        if (strcmp(t->name, "__metadata__") == 0 || !put_string(&h, t->name)) {
            status = io_fail(err, errlen, LL_EINVAL, "tensor name \"%.80s\" is not allowed", t->name);
            break;
        }
        puts_(&h, ":{\"dtype\":\"");
        puts_(&h, st_dtype_name(t->dtype));
        puts_(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) puts_(&h, ",");
            put_u64(&h, t->shape[d]);
        }
        puts_(&h, "],\"data_offsets\":[");
        put_u64(&h, offset);
        puts_(&h, ",");
        put_u64(&h, offset + bytes);
        puts_(&h, i + 1 < n ? "]}," : "]}");
        offset += bytes;
    }
    puts_(&h, "}");
    while (!h.nomem && (8 + h.len) % 8 != 0) puts_(&h, " ");  // the data starts 8-byte aligned
    if (status == LL_OK && h.nomem) status = io_fail(err, errlen, LL_ENOMEM, "out of memory writing safetensors");
    if (status == LL_OK && h.len > ST_MAX_HEADER)
        status = io_fail(err, errlen, LL_EINVAL, "the safetensors header would be %zu bytes, more than the %u MiB limit", h.len,
                      ST_MAX_HEADER >> 20);
    size_t total = 8 + h.len + (size_t)offset;
    uint8_t *file = status == LL_OK ? calloc(total, 1) : NULL;
    if (status == LL_OK && !file) status = io_fail(err, errlen, LL_ENOMEM, "out of memory for a %zu-byte safetensors file", total);
    if (status == LL_OK) {
        for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
        memcpy(file + 8, h.s, h.len);
        *out = file;
        *out_len = total;
        if (data) *data = file + 8 + h.len;
    }
    free(h.s);
    return status;
}
