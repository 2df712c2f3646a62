// The threads' part of the exported API: the loader makes a pool for a model, starts each helper
// (another instance of this module on the same memory, in its own worker) on its own stack, and
// stops them. Only the leader calls anything but ll_pool_helper.
#include "api.h"
#include "nn/im2col.h"
#include "nn/pool.h"
#include "status.h"
#include "vae.h"

// Helper stacks: the layers keep small tiles on the stack, a few KiB deep at most.
#define HELPER_STACK_BYTES ((size_t)256 << 10)

EXPORT Pool *ll_pool_create(int threads) {
    if (threads < 1 || threads > POOL_MAX_THREADS) {
        ll_fail(LL_EINVAL, "threads must be 1..%d, got %d", POOL_MAX_THREADS, threads);
        return NULL;
    }
    Pool *pool = pool_create(threads, workspace_helper_floats(), HELPER_STACK_BYTES);
    if (!pool && threads > 1 && !pool_supported()) ll_fail(LL_EINVAL, "this build has no threads");
    else if (!pool) ll_fail(LL_ENOMEM, "out of memory for %d threads", threads);
    return pool;
}

EXPORT void ll_pool_free(Pool *pool) { pool_free(pool); }
// What each helper adds to the memory: its scratch and its stack.
EXPORT double ll_pool_helper_bytes(void) { return (double)(workspace_helper_floats() * sizeof(float) + HELPER_STACK_BYTES); }
EXPORT char *ll_pool_stack_top(Pool *pool, int thread) { return pool_stack_top(pool, thread); }
EXPORT int ll_pool_helpers_running(Pool *pool) { return pool_helpers_running(pool); }
EXPORT int ll_pool_helper(Pool *pool, int thread) {
    if (!pool || thread < 1 || thread >= pool_threads(pool)) return ll_fail(LL_EINVAL, "no helper %d in this pool", thread);
    return pool_helper(pool, thread) < 0 ? ll_fail(LL_EINVAL, "this build has no threads") : LL_OK;
}
EXPORT void ll_pool_stop(Pool *pool) { pool_stop(pool); }
EXPORT double ll_pool_jobs(Pool *pool) { return (double)pool_jobs(pool); }
EXPORT double ll_pool_job_ms(Pool *pool) { return pool_job_ms(pool); }
EXPORT double ll_pool_tail_ms(Pool *pool) { return pool_tail_ms(pool); }

static void busy_task(void *ctx, int task, int thread) {
    (void)task;
    (void)thread;
    volatile float x = 1.0f;
    for (int i = *(const int *)ctx; i > 0; i--) x = x * 0.999999f + 1e-6f;
}

// The bench's measure of a barrier: `jobs` jobs of `tasks` tasks of `work` dependent multiply-adds
// each, back to back (pool NULL: the same tasks on this thread alone, for the arithmetic's time).
EXPORT void ll_pool_busy_jobs(Pool *pool, int jobs, int tasks, int work) {
    for (int j = 0; j < jobs; j++) pool_run(pool, tasks, busy_task, &work);
}

// Tasks thread `thread` has taken so far (as a double: JS has no 64-bit ints here).
EXPORT double ll_pool_tasks_taken(Pool *pool, int thread) { return (double)pool_tasks_taken(pool, thread); }

// A model's GEMMs and Adam shared by the pool's threads (NULL: the caller's thread alone). The same
// model gives the same bits either way.
EXPORT int ll_vae_set_pool(Vae *m, Pool *pool) {
    if (!m) return ll_fail(LL_EINVAL, "no model");
    vae_set_pool(m, pool);
    return LL_OK;
}

// A single layer's passes (layer_api.c) shared by the pool's threads (NULL: the caller's alone): what
// the bench times pass by pass on 1 and 2 threads.
EXPORT int ll_workspace_set_pool(Workspace *ws, Pool *pool) {
    if (!ws) return ll_fail(LL_EINVAL, "no workspace");
    ws->pool = pool;
    return LL_OK;
}
