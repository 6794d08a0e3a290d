"""A check for CUDA machines (CI has none, so pytest does not collect this file).

Same seed, same numbers on any device: inpainting on the GPU must give the CPU's field up to float rounding
(every random draw is made on the CPU generator and moved), and it reports how much faster it is.

    python tests/gpu_check.py                      # the bundled demo sample
    python tests/gpu_check.py --sample demo.pt     # a (N, 2, H, W) tensor file, NaN on land (no NetCDF library needed)
    python tests/gpu_check.py --device cpu --quick # the same code path on a CPU (what can be checked without a GPU)

It also reports fields per second when many fields run as one batch (`inpaint_batch`, what `evaluate --batch`
does), with the noise drawn on the CPU generator and on the device's own (`device_noise=True`), and the share
of the time spent in the network.
"""
import argparse, json, statistics, sys, time
import torch
from diffkit.data import load_demo_sample, open_fields
from diffkit.gp import gp_inpaint
from diffkit.inpaint import inpaint, inpaint_batch, make_config
from diffkit.masks import protocol_mask
from diffkit.models import load_default

def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

def timed(f, n=3):
    "Median seconds of `n` calls of `f` (after one warm-up), and its last result."
    r = f()
    ts = []
    for _ in range(n):
        sync(); t = time.perf_counter(); r = f(); sync(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), r

def network_share(ck, batch, calls, seconds):
    "The share of `seconds` that `calls` forwards of `ck`'s network at `batch` take (timed alone)."
    c = ck.model.config; dev = next(ck.model.parameters()).device
    x, t = torch.randn(batch, 2, *c.grid, device=dev), torch.full((batch,), 10, device=dev)
    with torch.inference_mode(): s, _ = timed(lambda: ck.model(x, t), n=5)
    return min(1.0, s * calls / seconds)

def field_batches(f, gpu, sizes, device_noise):
    "Fields per second with `len` fields per batch (one protocol mask each), and the network's share of the time."
    rows = []
    for b in sizes:
        items = [(f.uv[i % len(f)], f.ocean, protocol_mask('transect', f.ocean, i)) for i in range(b)]
        gps = [gp_inpaint(uv.nan_to_num(0.), oc, kn, x=f.x, y=f.y) for uv, oc, kn in items]
        cfg = make_config('eof-fast')
        s, rs = timed(lambda: inpaint_batch(items, cfg, gpu, gps=gps, seeds=range(b), x=f.x, y=f.y, device_noise=device_noise), n=1)
        rows.append(dict(fields_per_batch=b, device_noise=device_noise, seconds=round(s, 3), fields_per_s=round(b / s, 2),
                         network_share=round(network_share(gpu, b, rs[0].calls, s), 2)))
        print(json.dumps(rows[-1]), flush=True)
    return rows

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sample', help='a tensor file of fields (default: the bundled demo sample)')
    ap.add_argument('--field', type=int, default=3, help='which snapshot')
    ap.add_argument('--out', help='write the figures here as JSON')
    ap.add_argument('--device', default='cuda', help="the device to check against the CPU (default cuda; 'cpu' runs the code path anywhere)")
    ap.add_argument('--quick', action='store_true', help='small sizes only (a CPU run of the code path)')
    a = ap.parse_args(argv)
    if a.device.startswith('cuda') and not torch.cuda.is_available(): sys.exit("gpu_check: no CUDA device here")
    f = open_fields(a.sample, layout='NCHW') if a.sample else load_demo_sample()
    uv, ocean = f.uv[a.field], f.ocean
    cpu, gpu = load_default('uncond'), load_default('uncond', device=a.device)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows, ok = [], True
    plan = (('transect', ('eof-fast',)),) if a.quick else (('transect', ('eof-fast', 'adaptive-fast', 'multistage')), ('auv', ('eof-fast',)), ('holes', ('eof-fast',)))
    for proto, methods in plan:
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
    for n in ((1, 4) if a.quick else (1, 8, 32, 128)):   # ensemble members run as one batch
        s, r = timed(lambda: inpaint(uv, ocean, known, make_config('adaptive-fast', ensemble=n), checkpoint=gpu, gp=gp, seed=0), n=1)
        row = dict(ensemble=n, gpu_s=round(s, 3), members_per_s=round(n / s, 1), ratio=round(r.ratio(uv), 4))
        rows.append(row); print(json.dumps(row), flush=True)
    for dn in (False, True):   # many fields as one batch, noise on the CPU generator and on the device's
        rows += field_batches(f, gpu, (1, 4) if a.quick else (1, 8, 32, 64), dn)
    if a.out:
        with open(a.out, 'w') as fh: json.dump(rows, fh, indent=1)
    print('gpu_check:', 'CPU and GPU agree' if ok else 'CPU and GPU DISAGREE')
    sys.exit(0 if ok else 1)

if __name__ == '__main__': main()
