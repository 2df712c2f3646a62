// A pool of threads over one shared wasm memory: the thread that owns a model (the leader) cuts a
// piece of work into tasks, and the pool's helpers (other instances of the same module, each in its
// own worker) take tasks from a shared counter until none are left. Who runs a task never changes
// what it computes: the callers cut work so that every output is written by exactly one task, in the
// same order whatever the number of threads. So a model trains to the same bits with 1 or 16 threads.
// Built without wasm threads (the plain builds, native tests), a pool is never created and every
// pool_run is a loop on the caller's thread.
#ifndef LL_POOL_H
#define LL_POOL_H

#include <stddef.h>

#define POOL_MAX_THREADS 16

typedef struct Pool Pool;
// Runs task number `task` of a job; `thread` (0 = the leader) picks the thread's own scratch.
typedef void (*PoolTask)(void *ctx, int task, int thread);

// A pool for `threads` threads in all (the leader and threads - 1 helpers), with a GEMM scratch of
// scratch_floats for each and a stack of stack_bytes for each helper. NULL if it cannot be made.
// Whether this build has threads (wasm with atomics): else only one-thread pools are made.
int pool_supported(void);

Pool *pool_create(int threads, size_t scratch_floats, size_t stack_bytes);
void pool_free(Pool *pool);
int pool_threads(const Pool *pool);               // 1 for NULL
float *pool_scratch(const Pool *pool, int thread);
char *pool_stack_top(const Pool *pool, int thread); // where helper `thread`'s stack starts (grows down)
int pool_helpers_running(const Pool *pool);
// Jobs (pool_run calls) shared with the helpers so far: each one is a barrier.
long long pool_jobs(const Pool *pool);
// The leader's time inside those jobs (ms; 0 in builds without threads): the rest of a step is serial.
double pool_job_ms(const Pool *pool);
// Of that, the time the leader waited with its own tasks done and none left to steal (ms): the other
// threads' last tasks, the jobs' tails.
double pool_tail_ms(const Pool *pool);
// Tasks thread `thread` has run in pooled jobs so far (serial runs are not counted).
long long pool_tasks_taken(const Pool *pool, int thread);

// Where piece `i` of n things cut into `pieces` near-equal pieces starts (piece i ends where i + 1
// starts; sizes differ by one at most): how home ranges, tiles, groups of images and slices are cut.
static inline int pool_piece_start(int i, int pieces, int n) { return (int)((long long)i * n / pieces); }

// Tasks for n things at most `most` a task, as many as a whole multiple of the threads where there
// are things enough: every thread's home range then holds the same work.
static inline int pool_even_tasks(int n, int most, int threads) {
    int tasks = (n + most - 1) / most, even = (tasks + threads - 1) / threads * threads;
    return even <= n ? even : tasks;
}

// Runs fn for tasks 0..tasks-1 and returns when all are done. Serial when pool is NULL, has one
// thread, or is already inside a job (a task that calls pool_run runs its tasks itself).
void pool_run(Pool *pool, int tasks, PoolTask fn, void *ctx);

// Runs fn(ctx, i0, i1) over [0, n) in spans of `span` elements (the last may be shorter), the spans
// taken by the pool's threads: for passes where every element is written by one span alone.
typedef void (*PoolSpan)(void *ctx, size_t i0, size_t i1);
void pool_for(Pool *pool, size_t n, size_t span, PoolSpan fn, void *ctx);

// A helper's life: takes tasks of every job until pool_stop. Returns 0, or -1 where the build has
// no threads.
int pool_helper(Pool *pool, int thread);
// Wakes every helper and makes it return.
void pool_stop(Pool *pool);

#endif
