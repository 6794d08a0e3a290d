"""Which prior should the default sampler start from? The GP, or EOF optimal interpolation, at which t_start.

    python nbs/experiments/eof_prior.py transect 20            # every config, 20 fields of the bundled sample
    python nbs/experiments/eof_prior.py auv 20 gp-75,eof-40    # some configs
    python nbs/experiments/eof_prior.py --summary runs/exp/eof_prior_transect.jsonl

One JSON line per field on stdout: each baseline's and each config's gap MSE (m/s)². The study behind the
default `eof-fast` (2 cores, 20 fields of each protocol; median gap-MSE ratio vs EOF-OI, wins of 20):
transect gp-75 1.79 (1), eof-75 1.02 (7), eof-40 1.01 (8), eof-20 1.00 (12); auv gp-75 1.69 (0), eof-40 0.988
(12), eof-20 0.990 (16), eof-10 0.990 (19); holes gp-75 0.447, eof-40 0.472, eof-20 0.542, eof-10 0.623 (all 20).
The concat model from EOF-OI: transect (t = 75) 1.03, auv and holes (t = 20) 0.998 and 0.552. t = 40 was kept: the tracks
hardly care, the holes do.
"""
import json, sys
import numpy as np
import torch

CONFIGS = {  # name -> (prior, knobs on top of adaptive-fast)
    'gp-75': ('gp', {}), 'eof-75': ('eof', {}), 'eof-40': ('eof', dict(t_start=40)), 'eof-20': ('eof', dict(t_start=20)),
    'eof-10': ('eof', dict(t_start=10)), 'eof-75-concat': ('eof', dict(model='concat')), 'eof-20-concat': ('eof', dict(t_start=20, model='concat')),
}


def run(protocol:str, n:int, names:list):
    from diffkit.data import load_demo_sample
    from diffkit.evaluate import protocol_fields
    from diffkit.masks import protocol_mask
    from diffkit.baselines import default_baselines, fill_baselines
    from diffkit.inpaint import inpaint
    from diffkit.methods import make_config
    torch.set_num_threads(1)
    f = load_demo_sample(); test, idx = protocol_fields(f, n); b = default_baselines()
    for k in range(n):
        uv, kn = test.uv[int(idx[k])], protocol_mask(protocol, test.ocean, k, 0)
        fills = fill_baselines(uv, test.ocean, kn, b, x=test.x, y=test.y)
        row = dict(field=k, **{name: fl.gap_mse(uv) for name, fl in fills.items()})
        for name in names:
            prior, kw = CONFIGS[name]
            cfg = make_config('adaptive-fast', prior=prior, **kw)
            row[name] = inpaint(uv, test.ocean, kn, cfg, gp=fills['gp'], prior=fills[prior], seed=k, x=test.x, y=test.y).gap_mse(uv)
        print(json.dumps(row), flush=True)


def summary(path:str):
    rows = [json.loads(l) for l in open(path)]
    print(f"{path}: {len(rows)} fields")
    for name in [k for k in rows[0] if k != 'field']:
        e = np.array([r[name] / r['eof'] for r in rows]); g = np.array([r[name] / r['gp'] for r in rows])
        print(f"  {name:15s} vs EOF-OI {np.median(e):.3f} (wins {(e < 1).sum()}, worst {e.max():.2f}) | vs GP {np.median(g):.3f}")


if __name__ == '__main__':
    a = sys.argv[1:]
    if a and a[0] == '--summary': [summary(p) for p in a[1:]]
    elif len(a) >= 2: run(a[0], int(a[1]), a[2].split(',') if len(a) > 2 else list(CONFIGS))
    else: sys.exit(__doc__)
