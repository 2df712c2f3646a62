// safetensors, the format of Hugging Face's safetensors library: 8 bytes (header length N, u64 little
// endian), N bytes of UTF-8 JSON, then the raw little-endian tensor data. The JSON maps each tensor name
// to {"dtype", "shape", "data_offsets": [begin, end)} relative to the data, plus an optional
// "__metadata__" map of strings to strings.
// A strict, bounded reader (every size and offset checked, the data fully and exactly covered by the
// tensors, header at most 16 MiB) and a writer. Not here: what the tensors mean (io/vae_safetensors.c).
#ifndef LL_SAFETENSORS_H
#define LL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_HEADER (16u << 20)   // bytes of JSON; a larger header is refused before any allocation
#define ST_MAX_DIMS 8

typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64, ST_NUM_DTYPES
} StDtype;

typedef struct {
    const char *name;          // decoded UTF-8, NUL-terminated (a name containing NUL is refused)
    StDtype dtype;
    int ndim;                  // 0 for a scalar
    uint64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;       // data_offsets: bytes [begin, end) of the data section
    const uint8_t *data;       // = data section + begin, inside the caller's buffer
} StTensor;

typedef struct {
    const char *key, *value;   // decoded UTF-8, NUL-terminated
} StMeta;

// A parsed file. It borrows the caller's bytes (tensor data points into them) and owns the rest.
typedef struct {
    StTensor *tensors;         // in the order of the header
    size_t num_tensors;
    StMeta *meta;              // in the order of the header
    size_t num_meta;
    size_t data_len;           // bytes after the header
    char *strings;             // one block holding every decoded name, key and value
} StFile;

const char *st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);

// Parses len bytes. LL_OK, or LL_EFORMAT (LL_ENOMEM) with a message in err and f left empty.
int st_parse(StFile *f, const uint8_t *bytes, size_t len, char *err, size_t errlen);
void st_free(StFile *f);
const StTensor *st_find(const StFile *f, const char *name);
const char *st_meta_get(const StFile *f, const char *key);

// What the writer lays out: tensor i's bytes follow tensor i-1's, in this order, from offset 0.
typedef struct {
    const char *name;
    StDtype dtype;
    int ndim;
    uint64_t shape[ST_MAX_DIMS];
} StSpec;

// A new file for these tensors and metadata (keys unique, not "__metadata__"; names unique; all valid
// UTF-8): the header is written, the data section is zeroed for the caller to fill, tensor i at
// data + the sum of the sizes before it. The header is space-padded so the data starts 8-byte aligned.
// On success *out (free() it) holds *out_len bytes and *data points at the data section.
int st_write(const StSpec *tensors, size_t n, const StMeta *meta, size_t n_meta, uint8_t **out, size_t *out_len,
             uint8_t **data, char *err, size_t errlen);

// Bytes of one tensor, or 0 with *overflow set if it does not fit in 64 bits.
uint64_t st_nbytes(StDtype d, int ndim, const uint64_t *shape, int *overflow);

#endif
