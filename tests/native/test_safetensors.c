// Native checks for src/io (safetensors reader and writer, float16 conversion, the model's tensors in and
// out), meant to run under ASan/UBSan. It asserts that every float16 value survives float -> half -> float,
// that rounding is to nearest even, that a saved model reads back bit for bit (F32) or within half
// precision (F16) with its metadata, that each kind of broken file is refused with its message, and that
// every truncation and thousands of seeded byte mutations of a valid file are refused or read without a
// sanitizer report. Prints each failure and a last "N passed, M failed".
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/half.h"
#include "io/safetensors.h"
#include "io/vae_safetensors.h"
#include "status.h"
#include "check.h"
#include "vae.h"


static float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// ----------------------------------------------------------------------------
// float16

static void test_half(Tally *t) {
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = half_to_float((uint16_t)h);
        uint16_t back = float_to_half(f);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan ? !(isnan(f) && (back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != h) bad++;
    }
    check(t, bad == 0, "float16: %d of 65536 values do not survive half -> float -> half", bad);

    // Midpoints between neighbours (exact in float: 12 significant bits) go to the even one; a hair
    // either side goes to the nearer one.
    int wrong = 0;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float lo = half_to_float((uint16_t)h), hi = half_to_float((uint16_t)(h + 1));
        float mid = (float)(((double)lo + (double)hi) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (float_to_half(mid) != even || float_to_half(-mid) != (even | 0x8000)) wrong++;
        if (float_to_half(nextafterf(mid, 0.0f)) != h || float_to_half(nextafterf(mid, 1e9f)) != h + 1) wrong++;
    }
    check(t, wrong == 0, "float16: %d midpoints round wrongly (want nearest, ties to even)", wrong);
    check(t, float_to_half(65504.0f) == 0x7bff && float_to_half(65519.99f) == 0x7bff && float_to_half(65520.0f) == 0x7c00,
          "float16: 65504 is the largest finite value and 65520 rounds to infinity");
    check(t, float_to_half(bits_float(0x33000000u)) == 0 && float_to_half(bits_float(0x33000001u)) == 1,
          "float16: 2^-25 ties to zero, just above it rounds to the smallest subnormal");
    check(t, float_to_half(-0.0f) == 0x8000 && float_to_half(1e-30f) == 0 && float_to_half(-INFINITY) == 0xfc00,
          "float16: signed zero, underflow and infinity");
}

// ----------------------------------------------------------------------------
// hand-made files

// 8-byte length + header + data bytes, in a new buffer.
static uint8_t *make_file(const char *header, const uint8_t *data, size_t data_len, size_t *len) {
    size_t n = strlen(header);
    *len = 8 + n + data_len;
    uint8_t *b = malloc(*len ? *len : 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, header, n);
    if (data_len) memcpy(b + 8 + n, data, data_len);
    return b;
}

// Parses a file made of header + data_len zero bytes; expects failure with a message containing want
// (or success when want is NULL).
static void expect_parse(Tally *t, const char *header, size_t data_len, const char *want) {
    uint8_t *zeros = calloc(data_len ? data_len : 1, 1);
    size_t len;
    uint8_t *b = make_file(header, zeros, data_len, &len);
    StFile f;
    char err[400] = "";
    int status = st_parse(&f, b, len, err, sizeof err);
    if (!want) check(t, status == LL_OK, "accepts %s (got: %s)", header, err);
    else check(t, status != LL_OK && strstr(err, want), "refuses %s with \"%s\" (got status %d: \"%s\")", header, want, status, err);
    if (status == LL_OK) st_free(&f);
    free(b);
    free(zeros);
}

static void test_parser(Tally *t) {
    const char *ok = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    expect_parse(t, ok, 8, NULL);
    expect_parse(t, "{}", 0, NULL);
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}   ", 4, NULL);  // scalar, padded
    expect_parse(t, "{\"a\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[0,0]}}", 0, NULL);   // empty tensor

    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "bytes [8, 12) of the data belong to no tensor");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "lie outside the 4 bytes of data");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "hold 8 bytes, but F32 (3) needs 12");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "run backwards");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                 12, "tensors a and b overlap");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "bytes [0, 4) of the data belong to no tensor");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                 8, "\"a\" appears twice");
    expect_parse(t, "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice");
    expect_parse(t, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "\"k\" appears twice");
    expect_parse(t, "{\"__metadata__\":{\"k\":1}}", 0, "the value of \"k\" is not a string");
    expect_parse(t, "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"F128\"");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unexpected field \"x\"");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" appears twice");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "has no \"shape\"");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "must not be negative");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "must be integers");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zero");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "too large");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "is too large");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "more than 8 entries");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "more than 2 entries");
    expect_parse(t, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "the header ends inside the JSON object");
    expect_parse(t, "{\"a\" {}}", 0, "expected ':' after a tensor name");
    expect_parse(t, " {}", 0, "must start with '{'");
    expect_parse(t, "{}x", 0, "unexpected bytes after the JSON object");
    expect_parse(t, "{\"a\\u0000\":{}}", 0, "\\u0000 (NUL)");
    expect_parse(t, "{\"\\ud800\":{}}", 0, "high surrogate without its low half");
    expect_parse(t, "{\"\xc0\xaf\":{}}", 0, "invalid UTF-8");
    expect_parse(t, "{\"a\tb\":{}}", 0, "control character");
    expect_parse(t, "{\"\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, NULL);

    // The length field itself.
    StFile f;
    char err[400];
    uint8_t short_file[5] = {0};
    check(t, st_parse(&f, short_file, sizeof short_file, err, sizeof err) == LL_EFORMAT && strstr(err, "too short"),
          "refuses a 5-byte file (%s)", err);
    uint8_t huge[16] = {0, 0, 0, 0, 1, 0, 0, 0, '{', '}'};  // claims 2^32 bytes
    check(t, st_parse(&f, huge, sizeof huge, err, sizeof err) == LL_EFORMAT && strstr(err, "more than the 16 MiB limit"),
          "refuses a header length of 4 GiB before allocating (%s)", err);
    uint8_t over[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    check(t, st_parse(&f, over, sizeof over, err, sizeof err) == LL_EFORMAT && strstr(err, "claims 100 bytes but only 8 follow"),
          "refuses a header longer than the file (%s)", err);
}

// ----------------------------------------------------------------------------
// the model's tensors

static void test_model_round_trip(Tally *t) {
    Vae *m = vae_create(7);
    size_t n = vae_num_params();
    float *params = vae_params(m), *back = malloc(n * sizeof(float));
    StMeta meta[] = {{"digits", "1,4,8"}, {"note", "quote \" backslash \\ tab \t newline \n, unicode \xc3\xa9\xe2\x82\xac"}};
    uint8_t *file;
    size_t len;
    char err[400] = "";
    StFile f;

    int status = vae_params_to_safetensors(params, ST_F32, meta, 2, &file, &len, err, sizeof err);
    check(t, status == LL_OK && len == 8 + 8 * ((len - 8 - 4 * n) / 8) + 4 * n, "saves F32 (%s)", err);
    status = st_parse(&f, file, len, err, sizeof err);
    check(t, status == LL_OK, "reads back its own F32 file (%s)", err);
    if (status == LL_OK) {
        check(t, f.num_tensors == VAE_NUM_TENSORS && f.num_meta == 2, "30 tensors and 2 metadata entries");
        check(t, st_meta_get(&f, "note") && strcmp(st_meta_get(&f, "note"), meta[1].value) == 0, "metadata survives escaping");
        check(t, strcmp(f.tensors[0].name, "conv1.weight") == 0 && strcmp(f.tensors[29].name, "deconv3.bias") == 0,
              "tensors are written in state_dict order");
        status = vae_params_from_safetensors(back, &f, err, sizeof err);
        check(t, status == LL_OK && memcmp(back, params, n * sizeof(float)) == 0, "F32 round trip is bit for bit (%s)", err);
        st_free(&f);
    }
    free(file);

    status = vae_params_to_safetensors(params, ST_F16, NULL, 0, &file, &len, err, sizeof err);
    check(t, status == LL_OK, "saves F16 (%s)", err);
    status = st_parse(&f, file, len, err, sizeof err);
    if (status == LL_OK) {
        status = vae_params_from_safetensors(back, &f, err, sizeof err);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double rel = fabs((double)back[i] - params[i]) / fmax(fabs(params[i]), 0x1p-14);
            if (rel > worst) worst = rel;
        }
        check(t, status == LL_OK && worst <= 1.0 / 2048, "F16 round trip within half an ulp (worst relative %g)", worst);
        st_free(&f);
    }
    free(file);

    // A broken model file: take the F32 file's layout, change one thing.
    StSpec specs[VAE_NUM_TENSORS];
    for (int i = 0; i < VAE_NUM_TENSORS; i++) {
        const TensorSpec *s = vae_tensor(i);
        specs[i] = (StSpec){s->name, ST_F32, s->ndim, {0}};
        for (int d = 0; d < s->ndim; d++) specs[i].shape[d] = (uint64_t)s->shape[d];
    }
    struct {
        const char *what, *want;
        int tensor;
        StSpec spec;
        int count;
    } cases[] = {
        {"missing", "missing tensor deconv3.bias", 0, {0}, VAE_NUM_TENSORS - 1},
        {"shape", "tensor conv1.weight has shape (32,1,3,3), expected (32,1,4,4)", 0, {"conv1.weight", ST_F32, 4, {32, 1, 3, 3}}, VAE_NUM_TENSORS},
        {"dtype", "tensor conv1.bias has dtype F64, expected F32 or F16", 1, {"conv1.bias", ST_F64, 1, {32}}, VAE_NUM_TENSORS},
        {"extra", "unexpected tensor fc_mu.6.weight", 29, {"fc_mu.6.weight", ST_F32, 1, {1}}, VAE_NUM_TENSORS + 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        StSpec local[VAE_NUM_TENSORS + 1];
        memcpy(local, specs, sizeof specs);
        if (cases[c].count == VAE_NUM_TENSORS + 1) local[VAE_NUM_TENSORS] = cases[c].spec;
        else if (cases[c].count == VAE_NUM_TENSORS) local[cases[c].tensor] = cases[c].spec;
        uint8_t *data;
        status = st_write(local, (size_t)cases[c].count, NULL, 0, &file, &len, &data, err, sizeof err);
        if (status == LL_OK) status = st_parse(&f, file, len, err, sizeof err);
        if (status == LL_OK) {
            status = vae_params_from_safetensors(back, &f, err, sizeof err);
            st_free(&f);
        }
        check(t, status == LL_EFORMAT && strstr(err, cases[c].want), "%s tensor: \"%s\" (got \"%s\")", cases[c].what, cases[c].want, err);
        free(file);
    }
    // A NaN in deconv2.bias (F32 bits 0x7fc00000).
    uint8_t *data;
    st_write(specs, VAE_NUM_TENSORS, NULL, 0, &file, &len, &data, err, sizeof err);
    size_t offset = 0;
    for (int i = 0; i < VAE_NUM_TENSORS && strcmp(vae_tensor(i)->name, "deconv2.bias"); i++) {
        size_t size = 1;
        for (int d = 0; d < vae_tensor(i)->ndim; d++) size *= (size_t)vae_tensor(i)->shape[d];
        offset += size;
    }
    data[4 * (offset + 3) + 2] = 0xc0;
    data[4 * (offset + 3) + 3] = 0x7f;
    st_parse(&f, file, len, err, sizeof err);
    status = vae_params_from_safetensors(back, &f, err, sizeof err);
    check(t, status == LL_ENONFINITE && strstr(err, "tensor deconv2.bias contains NaN (element 3)"), "non-finite value: %s", err);
    st_free(&f);
    free(file);

    // Never writes what it would refuse to read.
    float saved = params[5];
    params[5] = 70000.0f;
    check(t, vae_params_to_safetensors(params, ST_F16, NULL, 0, &file, &len, err, sizeof err) == LL_EINVAL && !file &&
                 strstr(err, "beyond float16's range"), "refuses to save 70000 as F16 (%s)", err);
    params[5] = NAN;
    check(t, vae_params_to_safetensors(params, ST_F32, NULL, 0, &file, &len, err, sizeof err) == LL_ENONFINITE && !file,
          "refuses to save a NaN parameter (%s)", err);
    params[5] = saved;
    free(back);
    vae_free(m);
}

// ----------------------------------------------------------------------------
// broken files: every truncation, and seeded mutations of header bytes

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void test_mutations(Tally *t) {
    StSpec specs[3] = {{"w", ST_F16, 2, {2, 3}}, {"b", ST_F32, 1, {3}}, {"s", ST_I64, 0, {0}}};
    StMeta meta[] = {{"k", "v\xc3\xa9"}};
    uint8_t *file, *data;
    size_t len;
    char err[400];
    StFile f;
    st_write(specs, 3, meta, 1, &file, &len, &data, err, sizeof err);
    int accepted = 0, wrong_status = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);  // exact size, so ASan sees any read past the end
        memcpy(copy, file, cut);
        int status = st_parse(&f, copy, cut, err, sizeof err);
        if (status == LL_OK) {
            accepted++;
            st_free(&f);
        }
        free(copy);
    }
    check(t, accepted == 0, "every truncation of a valid file is refused (%d accepted)", accepted);

    uint64_t state = 42;
    size_t header_end = 8 + (size_t)file[0] + ((size_t)file[1] << 8);
    const uint8_t interesting[] = {'{', '}', '[', ']', '"', ':', ',', '\\', '0', '9', '-', 'e', 0x00, 0x80, 0xff, ' '};
    for (int trial = 0; trial < 20000; trial++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, file, len);
        int edits = 1 + (int)(splitmix64(&state) % 3);
        for (int e = 0; e < edits; e++) {
            uint64_t r = splitmix64(&state);
            size_t at = (size_t)(r % header_end);
            copy[at] = (r >> 32) & 1 ? interesting[(r >> 40) % sizeof interesting] : (uint8_t)(r >> 48);
        }
        int status = st_parse(&f, copy, len, err, sizeof err);
        if (status == LL_OK) st_free(&f);
        else if (status != LL_EFORMAT || !err[0]) wrong_status++;
        free(copy);
    }
    check(t, wrong_status == 0, "mutated files fail with LL_EFORMAT and a message (%d did not)", wrong_status);
    free(file);
}

int main(void) {
    Tally t = {0, 0};
    test_half(&t);
    test_parser(&t);
    test_model_round_trip(&t);
    test_mutations(&t);
    printf("test_safetensors: %d passed, %d failed\n", t.passed, t.failed);
    return t.failed ? 1 : 0;
}
