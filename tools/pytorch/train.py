#!/usr/bin/python3
"""Trains our recipes in PyTorch, on one process or many (DistributedDataParallel), and brings the run
back as one of ours: rank 0 writes our safetensors with our metadata, then our trainer's
`node tools/train.js --load F --epochs 0 --save F` fits our mixture on its codes and measures it, so the
page, make figures and make train --load take it like a model trained here. Not a second trainer of its
own recipes: presets, split, epoch order, warm-ups and loss history mirror web/lib (recipe.py, data.py,
history.py).

    make pytorch-train ARGS="--preset authors --seed 42 --nproc 2"      # 2 processes here (gloo on CPU)
    /usr/bin/python3 tools/pytorch/train.py --preset default --epochs 8  # one process
    torchrun --nproc_per_node 4 tools/pytorch/train.py --preset authors  # one process per GPU (nccl)

Progress goes to stderr (rank 0), then one JSON line on stdout: make train's, with PyTorch's epochs,
speed and time and where it trained (trainer, world_size, device). Started by torchrun (RANK in the
environment), each process is one rank; otherwise --nproc N starts N processes here with torchrun's
environment contract (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), which Debian's torchrun
(torch 1.13 under Python 3.11) cannot do. The global batch is the recipe's (32): each step cuts it into
contiguous shares, one per process, as our data-parallel workers do.
"""
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from data import epoch_order, load_data_files, load_mnist, split_dataset, training_indices
from history import LossHistory
from recipe import ROOT, RecipeError, effective_deskew, kl_weight, lab_version, parse_digits, parse_flags, resolve_options
from vae import VAE, save_safetensors

FLAGS = {'preset': 'string', 'digits': 'string', 'epochs': 'number', 'batch': 'number', 'lr': 'number', 'beta': 'number',
         'kl': 'string', 'warmup': 'number', 'lr-warmup': 'number', 'deskew': 'boolean', 'mixture': 'string', 'seed': 'number',
         'limit': 'number', 'data': 'string', 'test-data': 'string', 'mnist': 'string', 'save': 'string', 'dtype': 'string',
         'nproc': 'number', 'device': 'string', 'evaluate': 'boolean', 'quiet': 'boolean'}
TRAIN_JS = os.path.join(ROOT, 'tools', 'train.js')


def log_to(enabled):
    return (lambda text: (sys.stderr.write(text), sys.stderr.flush())) if enabled else (lambda text: None)


# --- flags -> a checked plan ---------------------------------------------------------------------------
def plan_from_flags(argv):
    flags = parse_flags(argv, FLAGS)
    options = resolve_options({'preset': flags.get('preset'), 'digits': flags.get('digits'), 'epochs': flags.get('epochs'),
                               'batch': flags.get('batch'), 'lr': flags.get('lr'), 'beta': flags.get('beta'),
                               'kl': flags.get('kl'), 'warmup': flags.get('warmup'), 'lr_warmup': flags.get('lr-warmup'),
                               'deskew': flags.get('deskew'), 'mixture': flags.get('mixture'), 'seed': flags.get('seed'),
                               'limit': flags.get('limit')})
    if 'test-data' in flags and 'data' not in flags:
        raise RecipeError('--test-data needs --data: the training files')
    dtype = flags.get('dtype', 'f32')
    if dtype not in ('f32', 'f16'):
        raise RecipeError(f'--dtype must be f32 or f16, got "{dtype}"')
    save = flags.get('save') or os.path.join('build', 'pytorch', f'{options["preset"]}-seed{options["seed"]}.safetensors')
    if not save.endswith('.safetensors'):
        raise RecipeError(f'--save must name a .safetensors file, got "{save}"')
    nproc = flags.get('nproc', 1)
    if not (isinstance(nproc, int) and 1 <= nproc <= 256):
        raise RecipeError(f'--nproc must be an integer 1..256, got {nproc}')
    device = flags.get('device', 'auto')
    if device not in ('auto', 'cpu', 'cuda'):
        raise RecipeError(f'--device must be auto, cpu or cuda, got "{device}"')
    if device == 'cuda' and not torch.cuda.is_available():
        raise RecipeError('--device cuda: this PyTorch sees no GPU')
    return {'options': options, 'flags': flags, 'dtype': dtype, 'save': save, 'nproc': nproc,
            'device': 'cuda' if device == 'cuda' or (device == 'auto' and torch.cuda.is_available()) else 'cpu',
            'evaluate': flags.get('evaluate', True), 'quiet': flags.get('quiet', False)}


# --- the launcher: N processes with torchrun's environment contract --------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(nproc, argv):
    """Starts this script nproc times as ranks 0..nproc-1 on this machine and waits; if one fails, stops the
    others. Returns the exit code (rank 0 prints the JSON line)."""
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=os.environ.get('MASTER_PORT') or str(free_port()),
               WORLD_SIZE=str(nproc), LOCAL_WORLD_SIZE=str(nproc))
    # torchrun's default too: without it every process would start a thread per core and they would fight.
    env.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // nproc)))
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv],
                                 env=dict(env, RANK=str(r), LOCAL_RANK=str(r))) for r in range(nproc)]
    code = 0
    try:
        while children:
            for child in list(children):
                status = child.poll()
                if status is None:
                    continue
                children.remove(child)
                if status != 0 and code == 0:
                    code = status if status > 0 else 1
                    for other in children:
                        other.terminate()
            time.sleep(0.1)
    except KeyboardInterrupt:
        for child in children:
            child.send_signal(signal.SIGINT)
        for child in children:
            child.wait()
        return 130
    return code


# --- one rank's training -------------------------------------------------------------------------------
def split_for(plan):
    """The split our pipeline's makeSplit makes, and the options as they apply to that data."""
    options, flags = dict(plan['options']), plan['flags']
    if 'data' in flags:
        files = lambda text: [p.strip() for p in text.split(',') if p.strip()]
        train = load_data_files(files(flags['data']))
        test = load_data_files(files(flags['test-data'])) if 'test-data' in flags else None
        options['deskew'] = effective_deskew(options, True)
        classes = parse_digits(flags['digits']) if 'digits' in flags else None
        split = split_dataset(train, test, classes, options['val_per_class'], options['seed'], options['deskew'])
        return split, options
    mnist = load_mnist(flags.get('mnist'))
    options['deskew'] = effective_deskew(options, False)
    split = split_dataset(mnist['train'], mnist['test'], options['digits'], options['val_per_class'], options['seed'],
                          options['deskew'], noun='digit')
    return split, options


class Rank:
    """Where this process stands: its rank, the world, its device, and whether it is distributed."""

    def __init__(self, device_kind):
        self.distributed = 'RANK' in os.environ
        self.rank = int(os.environ.get('RANK', 0))
        self.world = int(os.environ.get('WORLD_SIZE', 1))
        self.local_rank = int(os.environ.get('LOCAL_RANK', 0))
        if device_kind == 'cuda':
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device('cuda', self.local_rank)
        else:
            self.device = torch.device('cpu')
        self.backend = 'nccl' if device_kind == 'cuda' else 'gloo'
        if self.distributed:
            dist.init_process_group(self.backend)   # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE

    def close(self):
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def train(plan, where, log):
    """Trains the recipe -> (the module, its LossHistory, the options as applied, the split, training images, seconds)."""
    split, options = split_for(plan)
    batch, epochs, seed = options['batch'], options['epochs'], options['seed']
    indices = training_indices(split['train']['n'], seed, options['limit'])
    n = len(indices)
    batches_per_epoch = math.ceil(n / batch)
    torch.manual_seed(seed)   # the same initial weights on every rank (DDP also broadcasts rank 0's)
    module = VAE().to(where.device)
    model = torch.nn.parallel.DistributedDataParallel(module, device_ids=[where.local_rank] if where.device.type == 'cuda' else None) \
        if where.distributed else module
    # PyTorch's Adam is ours (betas 0.9/0.999, eps 1e-8; our C copies its update).
    optimizer = torch.optim.Adam(model.parameters(), lr=options['lr'], betas=(0.9, 0.999), eps=1e-8)
    noise = torch.Generator(device=where.device)
    noise.manual_seed((seed * 1_000_003 + where.rank) % 2 ** 63)   # each rank its own draws
    images = torch.from_numpy(split['train']['images'])   # bytes; floats one share at a time, as ours
    weight, warmup, lr_warmup = kl_weight(options), options['warmup'], options['lr_warmup']
    history = LossHistory()
    what = plan['flags'].get('data') or 'digits ' + ','.join(map(str, options['digits']))
    processes = f'{where.world} process{"es" if where.world > 1 else ""}'
    log(f'training on {n} images of {what} (PyTorch {torch.__version__}, {processes}, {where.device.type}, '
        f'{where.backend if where.distributed else "no backend"}), testing on {split["test"]["n"]}; '
        f'{epochs} epochs of {batches_per_epoch} batches of {batch}\n')
    start = time.perf_counter()
    last_print = start
    seen = 0
    for epoch in range(epochs):
        order = epoch_order(indices, seed, epoch)
        sums = torch.zeros(batches_per_epoch, 2, dtype=torch.float64, device=where.device)   # this rank's BCE, KL sums
        betas, mine_so_far = [], 0
        for b in range(batches_per_epoch):
            count = min(batch, n - b * batch)
            share = math.ceil(count / where.world)   # contiguous shares, as web/lib/run/parallel.js cuts a batch
            first = min(where.rank * share, count)
            mine = order[b * batch + first: b * batch + min(first + share, count)]
            x = (images[mine].to(where.device, torch.float64) / 255).to(torch.float32).view(-1, 1, 28, 28)
            epochs_done = epoch + b / batches_per_epoch
            beta_now = weight * min(1, epochs_done / warmup) if warmup > 0 else weight
            if lr_warmup > 0:
                step, steps = epoch * batches_per_epoch + b + 1, lr_warmup * batches_per_epoch
                for group in optimizer.param_groups:
                    group['lr'] = options['lr'] if step >= steps - 1e-9 else options['lr'] * (step / steps)
            eps = torch.randn(len(mine), 2, generator=noise, device=where.device)
            bce, kl_raw = model(x, eps)   # through DDP's forward, which readies its gradient all-reduce
            # DDP averages gradients over the ranks; scaling each share's sum by world / count makes that
            # average the gradient of the whole batch's mean, as ours takes it (a rank past a short batch's
            # end has an empty share and contributes zeros).
            loss = (bce + beta_now * kl_raw) * (where.world / count)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums[b, 0], sums[b, 1] = bce.detach(), kl_raw.detach()
            betas.append(beta_now)
            seen += count
            mine_so_far += len(mine)
            now = time.perf_counter()
            if now - last_print > 1 and b + 1 < batches_per_epoch:
                rate = seen / (now - start)
                # This rank's share of the epoch so far (one sync a second, not one a step).
                beta_so_far = torch.tensor(betas, dtype=torch.float64, device=where.device)
                mean = (sums[:b + 1, 0] + beta_so_far * sums[:b + 1, 1]).sum().item() / max(1, mine_so_far)
                log(f'\repoch {epoch + 1}/{epochs}  batch {b + 1}/{batches_per_epoch}  {rate:.0f} images/s  '
                    f'loss {mean:.2f}  {format_time((n * epochs - seen) / rate)} left   ')
                last_print = now
        if where.distributed:
            dist.all_reduce(sums)   # every rank's sums: the whole batches'
        totals = sums.cpu().numpy()
        for b in range(batches_per_epoch):
            count = min(batch, n - b * batch)
            bce_sum, kl_sum = totals[b]
            history.add(epoch, b, batches_per_epoch, count, (bce_sum + betas[b] * kl_sum) / count, bce_sum / count,
                        0.5 * kl_sum / count, b + 1 == batches_per_epoch)
        e = history.epochs[-1] if history.epochs and history.epochs[-1]['epoch'] == epoch + 1 else None
        if e is None or not np.all(np.isfinite(totals)):
            raise RecipeError(f'training diverged in epoch {epoch + 1} (a loss that is not finite): nothing was written; '
                              'lower the learning rate')
        log(f'\repoch {epoch + 1}/{epochs}: loss {e["loss"]:.2f} (bce {e["bce"]:.2f}, kl {e["kl"]:.2f})  '
            f'{seen / (time.perf_counter() - start):.0f} images/s          \n')
    return module, history, options, split, n, time.perf_counter() - start


def format_time(seconds):
    if not math.isfinite(seconds):
        return '?'
    m, s = divmod(round(seconds), 60)
    return f'{m}m{s:02d}s' if m > 0 else f'{s}s'


# --- one file back -------------------------------------------------------------------------------------
def plain(value):
    """Numbers as JSON.stringify writes them (1, not 1.0), inside lists and dicts too."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def metadata_for(options, history, split, where, n, plan):
    """Our metadata keys (model-io.js modelMetadata and Run.metadata), as strings, and where it was trained.
    Nothing that varies from run to run (no times or speeds)."""
    text = lambda v: json.dumps(plain(v), separators=(',', ':')) if isinstance(v, (list, dict)) else \
        ('true' if v is True else 'false' if v is False else str(plain(v)))
    m = {'digits': ','.join(map(str, options['digits'])), 'beta': options['beta'], 'kl': options['kl'], 'epochs': options['epochs'],
         'seed': options['seed'], 'batch': options['batch'], 'lr': options['lr'], 'warmup': options['warmup'],
         'lr_warmup': options['lr_warmup'], 'deskew': options['deskew'], 'preset': options['preset'],
         'mixture_variant': options['mixture'], 'version': lab_version(),
         'loss_history': history.epochs, 'loss_curve': history.curve(),
         'limit': options['limit'], 'train_images': n,
         'trainer': 'pytorch', 'torch': torch.__version__, 'world_size': where.world, 'device': where.device.type,
         'backend': where.backend if where.distributed else 'none'}
    if where.device.type == 'cuda':
        m['device_name'] = torch.cuda.get_device_name(where.device)
    if 'data' in plan['flags']:
        del m['digits']
        m['data'] = plan['flags']['data']
        m['classes'] = ','.join(map(str, split['classes'])) if split['classes'] else 'unlabelled'
    return {k: text(v) for k, v in m.items()}


def tensors_of(module, dtype):
    return {name: ('F16' if dtype == 'f16' else 'F32', t.detach().cpu().numpy()) for name, t in module.state_dict().items()}


def measure(raw, plan):
    """Our trainer's --load RAW --epochs 0 --save FINAL: our mixture fitted on the codes, the metrics, and the
    file the page loads. -> make train's JSON line (a dict)."""
    flags = plan['flags']
    command = ['node', TRAIN_JS, '--load', raw, '--epochs', '0', '--save', plan['save'], '--dtype', plan['dtype'], '--quiet']
    for flag in ('data', 'test-data', 'digits'):
        if flag in flags and (flag != 'digits' or 'data' in flags):
            command += [f'--{flag}', str(flags[flag])]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f'exit code {done.returncode}'
        raise RecipeError(f'our evaluation failed ({reason}); the trained model is kept in {raw}: measure it with '
                          f'make train ARGS="--load {raw} --epochs 0 --save {plan["save"]}"')
    return json.loads(done.stdout.strip().splitlines()[-1])


def finish(module, history, options, split, n, seconds, where, plan, log):
    """Rank 0: the file (measured by our trainer unless --evaluate=false) and the JSON line."""
    metadata = metadata_for(options, history, split, where, n, plan)
    final = plan['save']
    os.makedirs(os.path.dirname(os.path.abspath(final)), exist_ok=True)
    speed = {'epochs': options['epochs'], 'train_images': n, 'images_per_s': round(n * options['epochs'] / seconds, 1),
             'seconds': round(seconds, 1)}
    where_trained = {'trainer': 'pytorch', 'world_size': where.world, 'device': where.device.type, 'torch': torch.__version__}
    if not plan['evaluate']:
        partial = final + '.partial'
        save_safetensors(partial, tensors_of(module, plan['dtype']), metadata)
        os.replace(partial, final)
        log(f'saved {final} ({plan["dtype"]}, not measured: make train ARGS="--load {final} --epochs 0 --save {final}" measures it)\n')
        keys = ('preset', 'digits', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lr_warmup', 'deskew', 'mixture', 'seed')
        settings = {k: options[k] for k in keys}
        return plain({**settings, **speed, **where_trained})
    raw = final[:-len('.safetensors')] + '.unmeasured.safetensors'
    save_safetensors(raw, tensors_of(module, 'f32'), metadata)
    log('measuring with our trainer (tools/train.js --load --epochs 0: our mixture on its codes)...\n')
    result = measure(raw, plan)
    os.remove(raw)
    result.update(speed)
    result.update(where_trained)
    log(f'saved {final} ({plan["dtype"]}) and {final[:-len(".safetensors")]}.mixture.json\n')
    return plain(result)


def preflight(plan):
    """What would fail after training, checked before it: the evaluation's node and wasm, the output folder."""
    if plan['evaluate']:
        if subprocess.run(['node', '--version'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            raise RecipeError('node is not on the PATH: our evaluation needs it (or pass --evaluate=false)')
        if not os.path.exists(os.path.join(ROOT, 'build', 'latent-simd.wasm')):
            raise RecipeError('build/latent-simd.wasm is missing: run make all first (make pytorch-train does), '
                              'or pass --evaluate=false')
    folder = os.path.dirname(os.path.abspath(plan['save']))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise RecipeError(f'cannot create {folder}: {error.strerror}') from None
    if not os.access(folder, os.W_OK):
        raise RecipeError(f'cannot write to {folder}')


def main(argv):
    rank_name = f'train.py (rank {os.environ["RANK"]})' if os.environ.get('RANK', '0') != '0' else 'train.py'
    try:
        plan = plan_from_flags(argv)
        started_here = 'RANK' not in os.environ
        if started_here and plan['nproc'] > 1:
            preflight(plan)
            return launch(plan['nproc'], argv)
        local_world = int(os.environ.get('LOCAL_WORLD_SIZE', os.environ.get('WORLD_SIZE', 1)))
        if not started_here and 'nproc' in plan['flags'] and plan['nproc'] != local_world:
            raise RecipeError(f'--nproc {plan["nproc"]}, but {local_world} processes were started on this node: '
                              'under torchrun leave --nproc out (--nproc_per_node says it)')
        where = Rank(plan['device'])
        try:
            if where.rank == 0:
                preflight(plan)
            log = log_to(where.rank == 0 and not plan['quiet'])
            module, history, options, split, n, seconds = train(plan, where, log)
        finally:
            where.close()
        if where.rank == 0:
            print(json.dumps(finish(module, history, options, split, n, seconds, where, plan, log), separators=(',', ':')), flush=True)
        return 0
    except RecipeError as error:
        sys.stderr.write(f'\n{rank_name}: {error}\n')
        return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
