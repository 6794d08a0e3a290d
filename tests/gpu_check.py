"""A check for CUDA machines (CI has none, so pytest does not collect this file).

Same seed, same numbers on any device: inpainting on the GPU must give the CPU's field up to float rounding
(every random draw is made on the CPU generator and moved), and it reports how much faster it is.

    python tests/gpu_check.py                      # the bundled demo sample
    python tests/gpu_check.py --sample demo.pt     # a (N, 2, H, W) tensor file, NaN on land (no NetCDF library needed)
"""
import argparse, json, statistics, sys, time
import torch
from diffkit.data import load_demo_sample, open_fields
from diffkit.gp import gp_inpaint
from diffkit.inpaint import inpaint, make_config
from diffkit.masks import protocol_mask
from diffkit.models import load_default

def timed(f, n=3):
    "Median seconds of `n` calls of `f` (after one warm-up), and its last result."
    r = f()
    ts = []
    for _ in range(n):
        torch.cuda.synchronize(); t = time.perf_counter(); r = f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), r

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sample', help='a tensor file of fields (default: the bundled demo sample)')
    ap.add_argument('--field', type=int, default=3, help='which snapshot')
    ap.add_argument('--out', help='write the figures here as JSON')
    a = ap.parse_args(argv)
    if not torch.cuda.is_available(): sys.exit("gpu_check: no CUDA device here")
    f = open_fields(a.sample, layout='NCHW') if a.sample else load_demo_sample()
    uv, ocean = f.uv[a.field], f.ocean
    cpu, gpu = load_default('uncond'), load_default('uncond', device='cuda')
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows, ok = [], True
    for proto, methods in (('transect', ('adaptive-fast', 'multistage')), ('auv', ('adaptive-fast',)), ('holes', ('adaptive-fast',))):
        known = protocol_mask(proto, ocean)
        gp = gp_inpaint(uv.nan_to_num(0.), ocean, known, x=f.x, y=f.y)
        for method in methods:
            cfg = make_config(method)
            t0 = time.perf_counter(); rc = inpaint(uv, ocean, known, cfg, checkpoint=cpu, gp=gp, seed=0); t_cpu = time.perf_counter() - t0
            t_gpu, rg = timed(lambda: inpaint(uv, ocean, known, cfg, checkpoint=gpu, gp=gp, seed=0), n=3 if cfg.calls() < 500 else 1)
            d = (rc.mean - rg.mean)[:, rc.gap].abs().max().item()
            row = dict(protocol=proto, method=method, calls=rc.calls, cpu_s=round(t_cpu, 2), gpu_s=round(t_gpu, 3),
                       speedup=round(t_cpu / t_gpu, 1), max_abs_diff=d, ratio_cpu=round(rc.ratio(uv), 4), ratio_gpu=round(rg.ratio(uv), 4))
            ok &= d < 1e-3 and abs(row['ratio_cpu'] - row['ratio_gpu']) < 0.01
            rows.append(row); print(json.dumps(row), flush=True)
    known = protocol_mask('transect', ocean)
    gp = gp_inpaint(uv.nan_to_num(0.), ocean, known, x=f.x, y=f.y)
    for n in (1, 8, 32, 128):   # ensemble members run as one batch
        s, r = timed(lambda: inpaint(uv, ocean, known, make_config('adaptive-fast', ensemble=n), checkpoint=gpu, gp=gp, seed=0), n=1)
        row = dict(ensemble=n, gpu_s=round(s, 3), members_per_s=round(n / s, 1), ratio=round(r.ratio(uv), 4))
        rows.append(row); print(json.dumps(row), flush=True)
    if a.out:
        with open(a.out, 'w') as fh: json.dump(rows, fh, indent=1)
    print('gpu_check:', 'CPU and GPU agree' if ok else 'CPU and GPU DISAGREE')
    sys.exit(0 if ok else 1)

if __name__ == '__main__': main()
