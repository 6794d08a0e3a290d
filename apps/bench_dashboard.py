"""Latency of the dashboard in a real browser: time from pressing Run to the first trajectory frame on the page and
to the finished result (medians of N runs of a preset, default the page's own, with the bundled model), and how fast
the page answers a mask edit while a run goes on.

    python apps/bench_dashboard.py [--runs 5] [--method eof-net-quick] [--json]

Starts `panel serve apps/inpaint.py` on a free localhost port and drives /usr/bin/chromium with Playwright
(DESIGN §7); stops the server at the end. The first-frame runs are cancelled once their first frame is shown;
the complete runs go to the end (the status line says 'done in').
"""
import argparse, json, os, signal, socket, statistics, subprocess, sys, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']
FIND = """(cls) => { const go = (root) => { const e = root.querySelector('.' + cls); if (e) return e;
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = go(el.shadowRoot); if (f) return f; }
  return null; }; return go(document); }"""
TXT = f"(cls) => ({FIND})(cls)?.innerText ?? ''"


def serve():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, '-m', 'panel', 'serve', 'apps/inpaint.py', '--port', str(port), '--address', '127.0.0.1',
                             f'--allow-websocket-origin=127.0.0.1:{port}'], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url, t0 = f'http://127.0.0.1:{port}/inpaint', time.time()
    while time.time() - t0 < 120:
        if proc.poll() is not None: raise RuntimeError(f"panel serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                if r.status == 200: return proc, url
        except OSError: time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError(f"panel serve did not answer on {url} within 120 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--method', help="a preset (default: the page's default, the quick one)")
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright, expect
    proc, url = serve()
    out = dict(method=a.method, runs=a.runs)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=a.chromium, args=ARGS)
            page = b.new_page(viewport={'width': 1400, 'height': 1100})
            page.set_default_timeout(60_000)
            text = lambda cls: page.evaluate(f"() => ({TXT})('{cls}')")   # an element's text, found through shadow roots
            t0 = time.perf_counter()
            page.goto(url)
            page.locator('.dk-coverage-value').wait_for()
            out['page_load_s'] = round(time.perf_counter() - t0, 3)
            if a.method: page.locator('.dk-method select').select_option(a.method)
            page.wait_for_timeout(500)
            out['method'] = page.locator('.dk-method select').input_value()
            out['calls'] = text('dk-cost-text')
            first, edit = [], []
            for i in range(a.runs):
                run = int(text('dk-run-value'))
                t0 = time.perf_counter()
                page.locator('.dk-run button').click()
                page.wait_for_function(f"() => Number(({TXT})('dk-run-value')) === {run + 1} && Number(({TXT})('dk-frames-value')) >= 1",
                                       polling='raf', timeout=60_000)
                first.append(time.perf_counter() - t0)
                cov = text('dk-coverage-value')   # the page answers while the run goes on
                t0 = time.perf_counter()
                page.locator('.dk-clear button').click()
                page.wait_for_function(f"() => ({TXT})('dk-coverage-value') === '0.00%'", polling='raf')
                edit.append(time.perf_counter() - t0)
                page.locator('.dk-undo button').click()
                page.wait_for_function(f"() => ({TXT})('dk-coverage-value') === '{cov}'", polling='raf')
                page.locator('.dk-cancel button').click()
                expect(page.locator('.dk-run button')).to_be_enabled(timeout=30_000)
                page.wait_for_timeout(300)
            done = []
            for i in range(a.runs):
                run = int(text('dk-run-value'))
                t0 = time.perf_counter()
                page.locator('.dk-run button').click()
                try: page.wait_for_function(f"() => Number(({TXT})('dk-run-value')) === {run + 1} && ({TXT})('dk-status-text').includes('done in')",
                                            polling='raf', timeout=120_000)
                except Exception:
                    raise RuntimeError(f"run {run + 1} did not finish within 120 s; run counter {text('dk-run-value')}, "
                                       f"status: {text('dk-status-text')!r}") from None
                done.append(time.perf_counter() - t0)
                out['status'] = text('dk-status-text')
                page.wait_for_timeout(300)
            b.close()
        out.update(first_frame_s=[round(v, 3) for v in first], first_frame_median_s=round(statistics.median(first), 3),
                   edit_during_run_s=[round(v, 3) for v in edit], edit_during_run_median_s=round(statistics.median(edit), 3),
                   complete_s=[round(v, 3) for v in done], complete_median_s=round(statistics.median(done), 3))
    finally:
        os.killpg(proc.pid, signal.SIGTERM); proc.wait(15)
    if a.json: print(json.dumps(out))
    else:
        for k, v in out.items(): print(f"{k:>26}: {v}")


if __name__ == '__main__':
    main()
