// The pool's protocol. A job's tasks are cut into one contiguous home range per thread, so that
// thread t takes the same part of every job (the same images, the same columns of C) and finds its
// operands in its own core's cache. Each range is one 64-bit word: job (16 bits) | next (24) | end (24).
// A thread claims the front of its own range by a compare-and-swap on that word; once its range is
// empty it steals from the back of the others', so a slow or late thread takes fewer tasks. The job
// travels with the counters, so a thread that wakes late, or stalls between reading a word and
// claiming, can never claim a task of a job it did not read. The job's function and context are read
// after the claim; the leader writes the next job's only after every task of this one is done. Which
// thread runs a task never changes its result. Idle threads spin, long on cores of their own and
// briefly where they lose them (see wait_while), then sleep on memory.atomic.wait.
#include "pool.h"

#include <stdlib.h>

#if defined(__wasm__) && defined(__wasm_atomics__)
#define POOL_THREADS 1
#include <stdatomic.h>
double emscripten_get_now(void); // the runtime's clock (ms): every wasm threads build imports it
#endif

#ifdef POOL_THREADS
typedef _Atomic unsigned long long TicketWord;
typedef _Atomic int Counter;
#else
typedef unsigned long long TicketWord;
typedef int Counter;
#endif

typedef struct {
    TicketWord word;         // job | next | end
    char apart[56];          // a cache line each: the threads claim at once
} HomeRange;

typedef struct {
    int short_waits;         // this thread's next waits spin briefly: it lost its core while spinning
    char apart[60];          // a cache line each: every thread writes its own at every wait
} SpinState;

struct Pool {
    HomeRange range[POOL_MAX_THREADS];
    SpinState spin[POOL_MAX_THREADS];
    Counter job;             // bumped to start a job (helpers sleep on it) and to stop
    Counter done;            // tasks of the current job finished
    Counter stopping;
    Counter helpers_running;
    int threads;
    int in_job;              // the leader is inside pool_run: nested runs are serial
    int tasks;
    PoolTask fn;
    void *ctx;
    long long tasks_taken[POOL_MAX_THREADS]; // by each thread (its own slot): what the tests and bench read
    long long jobs;                          // pool_run calls shared with the helpers
    double job_ms;                           // the leader's time inside them, barriers included
    double tail_ms;                          // of which waiting for the other threads' last tasks
    float *scratch[POOL_MAX_THREADS];
    char *stack[POOL_MAX_THREADS];
    size_t stack_bytes;
};

// Idle threads spin up to LONG_SPINS loads (a few hundred microseconds) before they sleep: waking a
// sleeper costs tens of microseconds, and a step has about 300 jobs. But where the cores are shared
// (more threads than cores, the page's view worker, other programs) a spinner keeps a core from a
// thread with work, and the scheduler counts the spinning against it: it then waits longer for a core
// when tasks come (paired, spinning long always ran 0.71-0.77x there). A spin round that takes far
// longer than its loads can (PREEMPTED_MS) means the thread lost its core meanwhile: its next
// SHORT_WAITS waits (about a dozen steps) spin SPINS loads only. docs/performance.md has the figures.
enum { SPINS = 1 << 14, LONG_SPINS = 1 << 18, SPIN_ROUND = 1 << 10, SHORT_WAITS = 4096, TASK_BITS = 24 };
#define PREEMPTED_MS 0.1
#define TASK_MASK ((1ull << TASK_BITS) - 1)

int pool_supported(void) {
#ifdef POOL_THREADS
    return 1;
#else
    return 0;
#endif
}

Pool *pool_create(int threads, size_t scratch_floats, size_t stack_bytes) {
#ifndef POOL_THREADS
    if (threads != 1) return NULL;
#endif
    if (threads < 1 || threads > POOL_MAX_THREADS) return NULL;
    Pool *pool = calloc(1, sizeof(Pool));
    if (!pool) return NULL;
    pool->threads = threads;
    pool->stack_bytes = (stack_bytes + 15) & ~(size_t)15;
    for (int t = 1; t < threads; t++) {
        pool->scratch[t] = aligned_alloc(16, (scratch_floats * sizeof(float) + 15) & ~(size_t)15);
        pool->stack[t] = aligned_alloc(16, pool->stack_bytes);
        if (!pool->scratch[t] || !pool->stack[t]) {
            pool_free(pool);
            return NULL;
        }
    }
    return pool;
}

void pool_free(Pool *pool) {
    if (!pool) return;
    for (int t = 0; t < POOL_MAX_THREADS; t++) {
        free(pool->scratch[t]);
        free(pool->stack[t]);
    }
    free(pool);
}

int pool_threads(const Pool *pool) { return pool ? pool->threads : 1; }
long long pool_jobs(const Pool *pool) { return pool ? pool->jobs : 0; }
double pool_job_ms(const Pool *pool) { return pool ? pool->job_ms : 0; }
double pool_tail_ms(const Pool *pool) { return pool ? pool->tail_ms : 0; }
long long pool_tasks_taken(const Pool *pool, int thread) {
    return pool && thread >= 0 && thread < pool->threads ? pool->tasks_taken[thread] : 0;
}
float *pool_scratch(const Pool *pool, int thread) { return pool ? pool->scratch[thread] : NULL; }
char *pool_stack_top(const Pool *pool, int thread) {
    return pool && thread > 0 && thread < pool->threads ? pool->stack[thread] + pool->stack_bytes : NULL;
}

typedef struct {
    PoolSpan fn;
    void *ctx;
    size_t n, span;
} Spans;

static void span_task(void *ctx, int task, int thread) {
    (void)thread;
    const Spans *s = ctx;
    size_t i0 = (size_t)task * s->span, i1 = i0 + s->span < s->n ? i0 + s->span : s->n;
    s->fn(s->ctx, i0, i1);
}

void pool_for(Pool *pool, size_t n, size_t span, PoolSpan fn, void *ctx) {
    if (n == 0) return;
    if (n <= span || pool_threads(pool) == 1) {
        fn(ctx, 0, n);
        return;
    }
    Spans s = {fn, ctx, n, span};
    pool_run(pool, (int)((n + span - 1) / span), span_task, &s);
}

#ifdef POOL_THREADS
int pool_helpers_running(const Pool *pool) { return pool ? atomic_load(&((Pool *)pool)->helpers_running) : 0; }

// Returns once *word differs from old: a spin (a job usually follows within microseconds), long or
// short as above, then sleeps until notified.
static void wait_while(Pool *pool, int thread, Counter *word, int old) {
    int *short_waits = &pool->spin[thread].short_waits;
    int spins = *short_waits > 0 ? SPINS : LONG_SPINS;
    if (*short_waits > 0) (*short_waits)--;
    for (int s = 0; s < spins; s += SPIN_ROUND) {
        double started = emscripten_get_now();
        for (int r = 0; r < SPIN_ROUND; r++)
            if (atomic_load_explicit(word, memory_order_acquire) != old) return;
        if (emscripten_get_now() - started > PREEMPTED_MS) {
            *short_waits = SHORT_WAITS;
            spins = SPINS;
        }
    }
    while (atomic_load(word) == old) __builtin_wasm_memory_atomic_wait32((int *)word, old, -1);
}

// Claims task `next` (the front of a thread's own range) or `end - 1` (the back of another's).
static int claim(HomeRange *range, int own) {
    for (;;) {
        unsigned long long v = atomic_load(&range->word);
        unsigned long long next = (v >> TASK_BITS) & TASK_MASK, end = v & TASK_MASK;
        if (next >= end) return -1;
        unsigned long long claimed = own ? v + (1ull << TASK_BITS) : v - 1;
        if (atomic_compare_exchange_weak(&range->word, &v, claimed)) return (int)(own ? next : end - 1);
    }
}

static void take_tasks(Pool *pool, int thread) {
    for (int i = 0; i < pool->threads; i++) {
        int from = (thread + i) % pool->threads;
        for (int task; (task = claim(&pool->range[from], i == 0)) >= 0;) {
            int tasks = pool->tasks; // the claimed job's: the leader changes it only once every task is done
            pool->fn(pool->ctx, task, thread);
            pool->tasks_taken[thread]++;
            if (atomic_fetch_add(&pool->done, 1) + 1 == tasks) __builtin_wasm_memory_atomic_notify((int *)&pool->done, 1);
        }
    }
}

void pool_run(Pool *pool, int tasks, PoolTask fn, void *ctx) {
    if (!pool || pool->threads == 1 || pool->in_job || tasks <= 1 || (unsigned long long)tasks > TASK_MASK) {
        for (int t = 0; t < tasks; t++) fn(ctx, t, 0);
        return;
    }
    double started = emscripten_get_now();
    pool->in_job = 1;
    pool->jobs++;
    pool->tasks = tasks;
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store(&pool->done, 0);
    int job = (atomic_load(&pool->job) + 1) & 0xffff;
    for (int t = 0; t < pool->threads; t++) {
        unsigned long long begin = pool_piece_start(t, pool->threads, tasks), end = pool_piece_start(t + 1, pool->threads, tasks);
        atomic_store(&pool->range[t].word, ((unsigned long long)job << (2 * TASK_BITS)) | (begin << TASK_BITS) | end);
    }
    atomic_store(&pool->job, job);
    __builtin_wasm_memory_atomic_notify((int *)&pool->job, (unsigned)-1);
    take_tasks(pool, 0);
    double own_done = emscripten_get_now();
    for (int d; (d = atomic_load(&pool->done)) < tasks;) wait_while(pool, 0, &pool->done, d);
    pool->in_job = 0;
    double ended = emscripten_get_now();
    pool->tail_ms += ended - own_done;
    pool->job_ms += ended - started;
}

int pool_helper(Pool *pool, int thread) {
    atomic_fetch_add(&pool->helpers_running, 1);
    int seen = atomic_load(&pool->job);
    while (!atomic_load(&pool->stopping)) {
        take_tasks(pool, thread); // a job may have started before this helper arrived
        wait_while(pool, thread, &pool->job, seen);
        seen = atomic_load(&pool->job);
    }
    atomic_fetch_sub(&pool->helpers_running, 1);
    return 0;
}

void pool_stop(Pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->job, 1 << 16); // changes the word the helpers sleep on, not the job's low bits
    __builtin_wasm_memory_atomic_notify((int *)&pool->job, (unsigned)-1);
}
#else
int pool_helpers_running(const Pool *pool) { (void)pool; return 0; }

void pool_run(Pool *pool, int tasks, PoolTask fn, void *ctx) {
    (void)pool;
    for (int t = 0; t < tasks; t++) fn(ctx, t, 0);
}

int pool_helper(Pool *pool, int thread) {
    (void)pool;
    (void)thread;
    return -1;
}

void pool_stop(Pool *pool) { (void)pool; }
#endif
