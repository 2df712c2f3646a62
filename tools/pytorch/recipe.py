"""Our recipes for the PyTorch trainer: the presets, the checks and the KL weight of
web/lib/run/options.js, and a flag parser that reads flags as tools/common.js's parseFlags does.
Mirrors those files; change them together. Nothing here trains or reads data.
"""
import copy
import json
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RecipeError(Exception):
    """A bad flag or option: printed as one line, exit code 2, nothing written."""


# The report's authors' recipe (options.js AUTHORS). kl 'authors' weighs beta * sum(mu^2 + e^lv - 1 - lv),
# twice the usual KL; 'usual' weighs beta * KL. warmup / lr_warmup: epochs over which beta / the learning
# rate ramp up from 0. deskew 'auto': MNIST's digits are deskewed, a user's data is not.
AUTHORS = dict(digits=[1, 4, 8], epochs=8, batch=32, lr=3e-4, beta=0.55, kl='authors', warmup=0, lr_warmup=0, deskew=False,
               seed=42, val_per_class=5, mixture='authors', limit=0)
USUAL_KL = dict(AUTHORS, kl='usual', mixture='kmeans-10')
DEFAULT = dict(USUAL_KL, deskew='auto', lr_warmup=2, mixture='kmeans-groups')
PRESETS = {
    'authors': AUTHORS,
    'usual-kl': USUAL_KL,
    'usual-kl-warmup': dict(USUAL_KL, warmup=2),
    'usual-kl-deskew': dict(USUAL_KL, deskew='auto'),
    'default': DEFAULT,
    'long': dict(DEFAULT, epochs=16),
}
# web/lib/run/mixture.js MIXTURES: fitted by our trainer (tools/train.js) on the codes, named here only.
MIXTURES = ['authors', 'semi', 'per-class-2', 'per-class-3', 'kmeans-6', 'kmeans-10', 'kmeans-16', 'kmeans-6-groups',
            'kmeans-10-groups', 'kmeans-16-groups', 'kmeans-groups']


def parse_digits(digits):
    """'1,4,8' or a list -> sorted unique digits 0..9 (split.js parseDigits)."""
    if isinstance(digits, str):
        parts = [s.strip() for s in digits.split(',') if s.strip()]
        try:
            values = [float(s) for s in parts]
        except ValueError:
            raise RecipeError(f'digits must be numbers 0..9 separated by commas, got "{digits}"') from None
    else:
        values = list(digits)
    if not values:
        raise RecipeError('choose at least one digit')
    for d in values:
        if d != int(d) or d < 0 or d > 9:
            raise RecipeError(f'digit {d:g} is outside 0..9')
    out = sorted({int(d) for d in values})
    if len(out) != len(values):
        raise RecipeError(f'digits repeat: {",".join(f"{d:g}" for d in values)}')
    return out


def _check_number(name, value, lo, hi, integer=False, lo_exclusive=False):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise RecipeError(f'{name} must be a finite number, got {value}')
    if integer and value != int(value):
        raise RecipeError(f'{name} must be an integer, got {value:g}')
    if (value <= lo) if lo_exclusive else (value < lo):
        raise RecipeError(f'{name} must be {">" if lo_exclusive else ">="} {lo:g}, got {value:g}')
    if value > hi:
        raise RecipeError(f'{name} must be <= {hi:g}, got {value:g}')


def resolve_options(given):
    """The preset's values under the given ones (None: not given), checked as options.js resolveOptions does."""
    preset = given.get('preset') or 'default'
    if preset not in PRESETS:
        raise RecipeError(f'unknown preset "{preset}" (known: {", ".join(PRESETS)})')
    o = copy.deepcopy(PRESETS[preset])
    o.update({k: v for k, v in given.items() if v is not None})
    o['preset'] = preset
    o['digits'] = parse_digits(o['digits'])
    _check_number('epochs', o['epochs'], 1, 1000, integer=True)
    _check_number('batch size', o['batch'], 1, 4096, integer=True)
    _check_number('learning rate', o['lr'], 0, 1, lo_exclusive=True)
    _check_number('beta', o['beta'], 0, 1000)
    _check_number('seed', o['seed'], 0, 2 ** 53 - 1, integer=True)
    _check_number('limit', o['limit'], 0, 1e9, integer=True)
    _check_number('warm-up epochs', o['warmup'], 0, 1000)
    _check_number('learning-rate warm-up epochs', o['lr_warmup'], 0, 1000)
    for key in ('epochs', 'batch', 'seed', 'limit'):
        o[key] = int(o[key])
    if o['kl'] not in ('authors', 'usual'):
        raise RecipeError(f'kl must be "authors" or "usual", got "{o["kl"]}"')
    if o['mixture'] not in MIXTURES:
        raise RecipeError(f'unknown mixture "{o["mixture"]}" (known: {", ".join(MIXTURES)})')
    return o


def effective_deskew(options, user_data):
    return (not user_data) if options['deskew'] == 'auto' else bool(options['deskew'])


def kl_weight(options):
    """The weight on sum(mu^2 + e^lv - 1 - lv): beta, or beta / 2 for the usual KL (options.js klWeight)."""
    return options['beta'] / 2 if options['kl'] == 'usual' else options['beta']


def lab_version():
    """model-io.js LAB_VERSION: 'latent-lab ' + package.json's version (tests/safetensors.test.js ties the two)."""
    with open(os.path.join(ROOT, 'package.json')) as f:
        return f'latent-lab {json.load(f)["version"]}'


def parse_flags(argv, spec):
    """--name value / --name=value / --flag[=true|false]; spec maps a flag to 'number', 'string' or 'boolean'
    (tools/common.js parseFlags). Numbers stay ints when they are whole."""
    out, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith('--'):
            raise RecipeError(f'unexpected argument "{arg}"')
        name, eq, value = arg[2:].partition('=')
        kind = spec.get(name)
        if kind is None:
            raise RecipeError(f'unknown flag --{name} (known: {" ".join("--" + k for k in spec)})')
        if kind == 'boolean':
            if eq and value not in ('true', 'false'):
                raise RecipeError(f'--{name} takes no value, =true or =false, got "{value}"')
            out[name] = value != 'false'
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise RecipeError(f'--{name} needs a value')
            i += 1
            value = argv[i]
        if kind == 'number':
            try:
                number = float(value)
            except ValueError:
                raise RecipeError(f'--{name} must be a number, got "{value}"') from None
            out[name] = int(number) if number.is_integer() else number
        else:
            out[name] = value
        i += 1
    return out
