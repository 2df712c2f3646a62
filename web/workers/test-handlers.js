// The trainer worker's test-only handlers, apart from the real ones: the SHA-256 of the model's
// parameters (the page's tests compare a saved and reloaded model), the count of parameter snapshots
// sent to the view worker, and the determinism check's self-test. The debug trap and the memory
// reading are common.js's.
import { LabError } from '../lib/latent-lab.js';
import { resolveOptions } from '../lib/run/options.js';
import { makeSplit, Run } from '../lib/run/pipeline.js';
import { worker } from './common.js';

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (floats) => hex(await crypto.subtle.digest('SHA-256', floats));

// trainer: the trainer worker's state ({ session }); loadBuiltin(dataset): a built-in dataset's sets;
// spawn: the replicas' workers; threads(): the pool helpers, where threads can run.
export function trainerTestHandlers({ trainer, loadBuiltin, spawn, threads }) {
  return {
    async 'params-hash'() {
      const session = trainer.session;
      if (!session?.model) throw new LabError('no model');
      const params = session.run ? await session.run.syncParams() : session.model.getParams();
      return { hash: await sha256(params), run: session.id };
    },

    // The training snapshots sent to the view worker so far, and how many went in an array it sent back.
    'params-snapshots': () => ({ ...trainer.snapshots }),

    // `batches` batches of a run with these options on `workers` workers (threads or replicas, as
    // options.parallelism says, default 'auto' as a run), from a fresh model, and the
    // SHA-256 of the parameters' bytes. The same pipeline as a run, so a Node process doing the same
    // must get the same hash.
    async selftest({ options, batches = 4 }) {
      const resolved = resolveOptions(options);
      const { split, options: o } = makeSplit(resolved, { builtin: await loadBuiltin(resolved.dataset) });
      const run = await Run.create(worker.lab, o, { split, workers: o.workers ?? 1, spawn, threads: threads(),
        parallelism: options.parallelism ?? 'auto', fallbackToOne: true });
      try {
        const losses = [];
        for (let i = 0; i < batches && !run.trainer.done; i++) losses.push((await run.next()).loss);
        return { hash: await sha256(await run.syncParams()), workers: run.workers, parallelism: run.parallelism,
          note: run.note, losses, kind: worker.lab.kind };
      } finally {
        run.free();
      }
    },
  };
}
