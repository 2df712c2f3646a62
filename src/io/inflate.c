// A compact DEFLATE decoder in the manner of zlib's puff.c (canonical Huffman decoding from code
// counts), with a 9-bit lookup table in front for the common short codes. Every bit read is checked
// against the input's end, every back-reference against the bytes already written, every write
// against the output's capacity; over-subscribed and (where the RFC forbids it) incomplete codes are
// refused. The whole output buffer is the window, so no 32 KiB ring is kept.
#include "io/inflate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/error.h"
#include "status.h"

#define MAX_BITS 15        // longest Huffman code
#define MAX_LCODES 286     // literal/length codes a dynamic block may define
#define MAX_DCODES 30      // distance codes
#define FIXED_LCODES 288   // the fixed literal/length code defines 288 (286, 287 never occur)
#define FAST_BITS 9        // codes of up to this many bits are decoded by one table look-up

typedef struct {
    uint16_t count[MAX_BITS + 1];   // number of codes of each length (count[0]: unused symbols)
    uint16_t symbol[FIXED_LCODES];  // symbols ordered by code length, then value: canonical order
    uint16_t fast[1 << FAST_BITS];  // indexed by the next FAST_BITS input bits: length << 9 | symbol, 0 = slow path
} Huffman;

typedef struct {
    const uint8_t *in;
    size_t in_len, pos;     // pos: next byte to load into the bit buffer
    uint64_t bits;          // bit buffer, least significant bit first (DEFLATE's bit order)
    int nbits;
    uint8_t *out;
    size_t cap, len;
    int over_limit;
    char *err;
    size_t errlen;
} State;

// The message names the input byte being read (the first not yet consumed).
static int fail(State *s, const char *fmt, ...) {
    char what[160];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    return io_fail(s->err, s->errlen, LL_EFORMAT, "deflate data, input byte %zu: %s", s->pos - (size_t)(s->nbits / 8), what);
}

static void refill(State *s) {
    while (s->nbits <= 56 && s->pos < s->in_len) {
        s->bits |= (uint64_t)s->in[s->pos++] << s->nbits;
        s->nbits += 8;
    }
}

// n (<= 16) bits as an unsigned number, or -1 when the input ends first.
static int32_t getbits(State *s, int n) {
    if (s->nbits < n) refill(s);
    if (s->nbits < n) return -1;
    int32_t v = (int32_t)(s->bits & ((1u << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

static uint32_t reverse_bits(uint32_t code, int len) {
    uint32_t r = 0;
    for (int i = 0; i < len; i++, code >>= 1) r = r << 1 | (code & 1);
    return r;
}

// Builds h from n code lengths. Returns 0 for a complete code, > 0 for an incomplete one (that many
// codes unused at the longest length, scaled), < 0 for an over-subscribed one (h unusable then).
static int build(Huffman *h, const uint8_t *length, int n) {
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[length[i]]++;
    if (h->count[0] == n) {   // no codes: decoding anything fails, which is right
        memset(h->fast, 0, sizeof h->fast);
        return 0;
    }
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return left;
    }
    uint16_t offs[MAX_BITS + 1];
    offs[1] = 0;
    for (int len = 1; len < MAX_BITS; len++) offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (int i = 0; i < n; i++)
        if (length[i]) h->symbol[offs[length[i]]++] = (uint16_t)i;
    // Canonical codes in order; each short one fills every table slot whose low bits are its (reversed) code.
    memset(h->fast, 0, sizeof h->fast);
    uint32_t code = 0;
    int k = 0;
    for (int len = 1; len <= MAX_BITS; len++, code <<= 1) {
        for (int i = 0; i < h->count[len]; i++, k++, code++) {
            if (len > FAST_BITS) continue;
            for (uint32_t f = reverse_bits(code, len); f < (1u << FAST_BITS); f += 1u << len)
                h->fast[f] = (uint16_t)(len << 9 | h->symbol[k]);
        }
    }
    return left;
}

// The next symbol, or -1 (message set) for a code that is not in h or input that ends inside it.
static int decode(State *s, const Huffman *h) {
    if (s->nbits < MAX_BITS) refill(s);
    uint16_t e = h->fast[s->bits & ((1u << FAST_BITS) - 1)];
    if (e && (e >> 9) <= s->nbits) {
        s->bits >>= e >> 9;
        s->nbits -= e >> 9;
        return e & 0x1ff;
    }
    // Slow path: one bit at a time; code - first is the offset among the codes of this length.
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        if (len > s->nbits) {
            fail(s, "the input ends inside a Huffman code");
            return -1;
        }
        code |= (int)(s->bits >> (len - 1) & 1);
        int count = h->count[len];
        if (code - count < first) {
            s->bits >>= len;
            s->nbits -= len;
            return h->symbol[index + (code - first)];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    fail(s, "invalid Huffman code");
    return -1;
}

static const uint16_t LENGTH_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                         31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LENGTH_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int output_full(State *s) {
    s->over_limit = 1;
    return io_fail(s->err, s->errlen, LL_EFORMAT, "deflate data expands past %zu bytes (the output limit)", s->cap);
}

// Literals and back-references until the end-of-block symbol.
static int codes(State *s, const Huffman *lencode, const Huffman *distcode) {
    for (;;) {
        int sym = decode(s, lencode);
        if (sym < 0) return LL_EFORMAT;
        if (sym < 256) {
            if (s->len == s->cap) return output_full(s);
            if (s->out) s->out[s->len] = (uint8_t)sym;
            s->len++;
            continue;
        }
        if (sym == 256) return LL_OK;
        sym -= 257;
        if (sym >= 29) return fail(s, "invalid length symbol %d", sym + 257);
        int32_t extra = getbits(s, LENGTH_EXTRA[sym]);
        if (extra < 0) return fail(s, "the input ends inside a length");
        size_t len = LENGTH_BASE[sym] + (size_t)extra;
        int dsym = decode(s, distcode);
        if (dsym < 0) return LL_EFORMAT;
        if (dsym >= 30) return fail(s, "invalid distance symbol %d", dsym);
        extra = getbits(s, DIST_EXTRA[dsym]);
        if (extra < 0) return fail(s, "the input ends inside a distance");
        size_t dist = DIST_BASE[dsym] + (size_t)extra;
        if (dist > s->len)
            return fail(s, "a back-reference of %zu bytes reaches before the start of the output (%zu bytes written)", dist, s->len);
        if (len > s->cap - s->len) return output_full(s);
        if (s->out) {
            const uint8_t *from = s->out + s->len - dist;
            uint8_t *to = s->out + s->len;
            for (size_t i = 0; i < len; i++) to[i] = from[i];   // byte by byte: source and destination may overlap
        }
        s->len += len;
    }
}

static int stored(State *s) {
    // Drop the partial byte, then give the whole bytes still in the bit buffer back to the input.
    s->bits >>= s->nbits & 7;
    s->nbits -= s->nbits & 7;
    s->pos -= (size_t)(s->nbits / 8);
    s->bits = 0;
    s->nbits = 0;
    if (s->in_len - s->pos < 4) return fail(s, "the input ends inside a stored block's header");
    const uint8_t *h = s->in + s->pos;
    unsigned len = h[0] | h[1] << 8, nlen = h[2] | h[3] << 8;
    if (len != (~nlen & 0xffffu)) return fail(s, "a stored block's length and its complement disagree");
    s->pos += 4;
    if (s->in_len - s->pos < len) return fail(s, "a stored block of %u bytes runs past the input's end (%zu left)", len, s->in_len - s->pos);
    if (len > s->cap - s->len) return output_full(s);
    if (s->out) memcpy(s->out + s->len, s->in + s->pos, len);
    s->pos += len;
    s->len += len;
    return LL_OK;
}

static int fixed(State *s) {
    static const int counts[][2] = {{144, 8}, {112, 9}, {24, 7}, {8, 8}};
    uint8_t lengths[FIXED_LCODES];
    int at = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < counts[i][0]; j++) lengths[at++] = (uint8_t)counts[i][1];
    Huffman lencode, distcode;
    build(&lencode, lengths, FIXED_LCODES);
    memset(lengths, 5, 32);   // 32 five-bit codes, so that 30 and 31 decode and are refused by name
    build(&distcode, lengths, 32);
    return codes(s, &lencode, &distcode);
}

static int dynamic(State *s) {
    static const uint8_t ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    int32_t nlen = getbits(s, 5), ndist = getbits(s, 5), ncode = getbits(s, 4);
    if (nlen < 0 || ndist < 0 || ncode < 0) return fail(s, "the input ends inside a dynamic block's header");
    nlen += 257;
    ndist += 1;
    ncode += 4;
    if (nlen > MAX_LCODES) return fail(s, "a dynamic block defines %d literal/length codes (at most 286)", (int)nlen);
    if (ndist > MAX_DCODES) return fail(s, "a dynamic block defines %d distance codes (at most 30)", (int)ndist);
    uint8_t lengths[MAX_LCODES + MAX_DCODES];
    memset(lengths, 0, 19);
    for (int i = 0; i < ncode; i++) {
        int32_t v = getbits(s, 3);
        if (v < 0) return fail(s, "the input ends inside the code-length code");
        lengths[ORDER[i]] = (uint8_t)v;
    }
    Huffman lencode, distcode;
    if (build(&lencode, lengths, 19) != 0) return fail(s, "the code-length code is incomplete or over-subscribed");
    for (int i = 0; i < nlen + ndist;) {
        int sym = decode(s, &lencode);
        if (sym < 0) return LL_EFORMAT;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        uint8_t repeat_of = 0;
        int32_t r;
        if (sym == 16) {
            if (i == 0) return fail(s, "a repeat code comes before any code length");
            repeat_of = lengths[i - 1];
            r = getbits(s, 2);
            r = r < 0 ? r : 3 + r;
        } else if (sym == 17) {
            r = getbits(s, 3);
            r = r < 0 ? r : 3 + r;
        } else {
            r = getbits(s, 7);
            r = r < 0 ? r : 11 + r;
        }
        if (r < 0) return fail(s, "the input ends inside a repeat code");
        if (i + r > nlen + ndist) return fail(s, "a repeat code runs past the number of code lengths");
        while (r--) lengths[i++] = repeat_of;
    }
    if (lengths[256] == 0) return fail(s, "the block has no end-of-block code");
    int left = build(&lencode, lengths, nlen);
    if (left < 0 || (left > 0 && nlen - lencode.count[0] != 1))
        return fail(s, "the literal/length code is incomplete or over-subscribed");
    left = build(&distcode, lengths + nlen, ndist);
    if (left < 0 || (left > 0 && ndist - distcode.count[0] != 1))
        return fail(s, "the distance code is incomplete or over-subscribed");
    return codes(s, &lencode, &distcode);
}

int inflate_raw(uint8_t *out, size_t out_cap, const uint8_t *in, size_t in_len, InflateResult *r, char *err, size_t errlen) {
    State s = {.in = in, .in_len = in_len, .out = out, .cap = out_cap, .err = err, .errlen = errlen};
    int status = LL_OK, last = 0;
    while (!last && status == LL_OK) {
        int32_t header = getbits(&s, 3);
        if (header < 0) {
            status = fail(&s, in_len ? "the input ends before the final block" : "no data");
            break;
        }
        last = header & 1;
        switch (header >> 1) {
        case 0: status = stored(&s); break;
        case 1: status = fixed(&s); break;
        case 2: status = dynamic(&s); break;
        default: status = fail(&s, "invalid block type 3"); break;
        }
    }
    r->out_len = s.len;
    r->in_used = s.pos - (size_t)(s.nbits / 8);
    r->over_limit = s.over_limit;
    return status;
}
