"""Forward time of the default UNet on this CPU (1 thread): eager, channels-last, torch.compile; batch 1 and 4.

    .venv/bin/python nbs/experiments/forward_variants.py

Measured 2026-12-03 on the 2-core dev machine (median of 15, ms per forward):
batch 1: eager 23.2, channels-last 19.2, torch.compile 22.1 (compile 48.8 s);
batch 4: eager 93.4, channels-last 84.6, torch.compile 79.6 (compile 37.6 s).
Channels-last inside the whole inpainting loop (inputs converted per call) gave 0-2 % per field, and compile costs
~40 s per worker process, so neither is kept.
"""
import time, json, torch
from diffkit.models import load_default, count_flops
torch.set_num_threads(1)
net = load_default('uncond').model.eval()
def med(fn, n=15):
    fn(); fn(); ts = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    ts.sort(); return ts[n // 2]
rows = []
for B in (1, 4):
    x, t = torch.randn(B, 2, 64, 128), torch.full((B,), 10)
    with torch.inference_mode():
        ref = net(x, t)
        rows.append(dict(variant='eager', batch=B, ms=1e3 * med(lambda: net(x, t))))
        xc = x.contiguous(memory_format=torch.channels_last)
        netc = load_default('uncond').model.eval().to(memory_format=torch.channels_last)
        rows.append(dict(variant='channels_last', batch=B, ms=1e3 * med(lambda: netc(xc, t)), max_diff=(netc(xc, t) - ref).abs().max().item()))
    t0 = time.perf_counter()
    comp = torch.compile(load_default('uncond').model.eval())
    with torch.inference_mode():
        out = comp(x, t); tc = time.perf_counter() - t0
        rows.append(dict(variant='torch.compile', batch=B, ms=1e3 * med(lambda: comp(x, t)), compile_s=tc, max_diff=(out - ref).abs().max().item()))
    rows[-3]['gflops'] = count_flops(net, B) / rows[-3]['ms'] * 1e-6
for r in rows: print(json.dumps(r))
