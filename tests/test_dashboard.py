"""The dashboard in a real browser: `panel serve apps/inpaint.py` on localhost, driven by Debian's chromium through
Playwright for Python (DESIGN §7). The server is started and stopped here. Screenshots of the key states go to
test-artifacts/ (not committed).

Needs /usr/bin/chromium (`apt-get update && apt-get install -y chromium`); without it these tests fail, loudly.
The session model's logic is tested without a browser in nbs/13_session.ipynb, the view in nbs/14_dashboard.ipynb.
"""
import io, sys, time

import pytest

from servers import ART, free_port, served

pytestmark = pytest.mark.slow
SMALL = dict(method='adaptive', t_start=20, resample=1)   # 20 network calls: a second or two on 2 CPU cores

# JS: the first element with a class, searching open shadow roots (Bokeh 3 renders into them)
FIND = """(cls) => { const go = (root) => { const e = root.querySelector('.' + cls); if (e) return e;
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = go(el.shadowRoot); if (f) return f; }
  return null; }; return go(document); }"""
TXT = f"(cls) => ({FIND})(cls)?.innerText ?? ''"   # the text of the element with that class (Panel panes: use inner spans)


@pytest.fixture(scope='module')
def server():
    "`panel serve apps/inpaint.py` on a free localhost port; its log goes to test-artifacts/panel_serve.log."
    port = free_port()
    cmd = [sys.executable, '-m', 'panel', 'serve', 'apps/inpaint.py', '--port', str(port), '--address', '127.0.0.1',
           f'--allow-websocket-origin=127.0.0.1:{port}']
    with served(cmd, f'http://127.0.0.1:{port}/inpaint', 'panel_serve.log') as url: yield url


def open_page(browser, url):
    ctx = browser.new_context(viewport={'width': 1400, 'height': 1100})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator('.dk-coverage-value').wait_for()
    page.locator('.dk-map canvas').first.wait_for()
    return page


def text(page, cls) -> str:
    return page.locator('.' + cls).first.inner_text().strip()


def coverage(page) -> float:
    return float(text(page, 'dk-coverage-value').rstrip('%'))


def set_knobs(page, method='adaptive', **knobs):
    "Pick a method, then set its knobs (a method resets the knobs to its preset)."
    page.locator('.dk-method select').select_option(method)
    page.wait_for_timeout(300)
    for k, v in knobs.items():
        box = page.locator(f".dk-{k.replace('_', '-')} input").first
        box.fill(str(v)); box.press('Enter')
    if 'resample' in knobs and 't_start' in knobs and method in ('adaptive', 'gp-init'):
        calls = knobs['t_start'] * knobs['resample']
        page.wait_for_function(f"() => ({TXT})('dk-cost-text').startsWith('{calls:,} network calls')")


def frames_shown(page) -> int:
    return int(text(page, 'dk-frames-value') or 0)


def run_and_wait(page, timeout=120_000):
    page.locator('.dk-run button').click()
    page.wait_for_function(f"() => {{ const m = ({FIND})('dk-metrics-table'); return m !== null; }}", timeout=timeout)


def test_page_loads_and_stroke_changes_mask(server, browser):
    page = open_page(browser, server)
    c0 = coverage(page)
    assert c0 > 0, "the page should start with the transect mask"
    png = page.locator('.dk-map').first.screenshot(path=str(ART / 'dashboard_loaded_map.png'))
    from PIL import Image
    colours = len((Image.open(io.BytesIO(png)).convert('RGB').getcolors(1 << 24) or []))
    assert colours > 100, f"the map looks blank ({colours} colours)"
    page.screenshot(path=str(ART / 'dashboard_loaded.png'), full_page=True)
    before = text(page, 'dk-coverage-value')
    box = page.locator('.dk-map').first.bounding_box()
    y = box['y'] + 0.33 * box['height']
    page.mouse.move(box['x'] + 0.25 * box['width'], y)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(box['x'] + (0.25 + 0.4 * i / 20) * box['width'], y + 25 * (i % 5 == 0), steps=2)
    page.mouse.up()
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText !== '{before}'", timeout=15_000)
    c1 = coverage(page)
    assert c1 > c0, (c0, c1)
    page.screenshot(path=str(ART / 'dashboard_stroke.png'), full_page=True)
    page.locator('.dk-undo button').click()
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText === '{c0:.2f}%'", timeout=15_000)

    # the other draw tools (picked in the plot's toolbar): points (tap), a box (shift-drag), a polygon
    # (press-and-hold ~300 ms for the first and the last vertex, taps between: Bokeh >= 3.4)
    X = lambda f: box['x'] + f * box['width']
    Y = lambda f: box['y'] + f * box['height']
    def changed(action):
        before = text(page, 'dk-coverage-value')
        action()
        page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText !== '{before}'", timeout=15_000)
        return coverage(page)
    page.locator('.dk-map [title^="Points"]').first.click()
    c2 = changed(lambda: page.mouse.click(X(0.3), Y(0.2)))
    page.locator('.dk-map [title^="Box"]').first.click()
    def drag_box():
        page.keyboard.down('Shift'); page.mouse.move(X(0.6), Y(0.15)); page.mouse.down()
        page.mouse.move(X(0.7), Y(0.25), steps=5); page.mouse.up(); page.keyboard.up('Shift')
    c3 = changed(drag_box)
    page.locator('.dk-map [title^="Polygon"]').first.click()
    def polygon():
        page.mouse.move(X(0.2), Y(0.3)); page.mouse.down(); page.wait_for_timeout(500); page.mouse.up()
        for fx, fy in ((0.3, 0.3), (0.3, 0.4)): page.mouse.click(X(fx), Y(fy)); page.wait_for_timeout(200)
        page.mouse.move(X(0.2), Y(0.4)); page.mouse.down(); page.wait_for_timeout(500); page.mouse.up()
    c4 = changed(polygon)
    assert c0 < c2 < c3 < c4, (c0, c2, c3, c4)
    page.screenshot(path=str(ART / 'dashboard_shapes.png'), full_page=True)
    page.locator('.dk-clear button').click()
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText === '0.00%'", timeout=15_000)
    page.context.close()


def test_run_streams_frames_then_metrics_and_cancel(server, browser):
    page = open_page(browser, server)
    set_knobs(page, **SMALL)
    run_and_wait(page)
    n = frames_shown(page)
    assert n >= 2, f"only {n} trajectory frame(s) were shown"
    assert 'gap MSE ratio vs GP' in text(page, 'dk-metrics-body')
    assert page.locator('.dk-scrub').count() == 1
    page.screenshot(path=str(ART / 'dashboard_result.png'), full_page=True)
    # a long run (375 calls), cancelled once frames flow; the page stays usable during the run
    set_knobs(page, method='adaptive', t_start=75, resample=5)
    run = int(text(page, 'dk-run-value'))
    page.locator('.dk-run button').click()
    page.wait_for_function(f"() => Number(({TXT})('dk-run-value')) === {run + 1} && Number(({TXT})('dk-frames-value')) >= 2",
                           timeout=30_000)
    page.screenshot(path=str(ART / 'dashboard_running.png'), full_page=True)
    c0 = text(page, 'dk-coverage-value')
    t0 = time.perf_counter()
    page.locator('.dk-clear button').click()      # interactive while running: the mask changes at once
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText === '0.00%'", timeout=10_000)
    print(f"mask cleared during a run in {time.perf_counter() - t0:.2f} s")
    page.locator('.dk-undo button').click()
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText === '{c0}'", timeout=10_000)
    page.locator('.dk-cancel button').click()
    page.wait_for_function(f"() => ({TXT})('dk-status-text').startsWith('cancelled')", timeout=20_000)
    from playwright.sync_api import expect
    expect(page.locator('.dk-run button')).to_be_enabled(timeout=10_000)
    page.context.close()


def test_two_sessions_do_not_mix(server, browser):
    a, b = open_page(browser, server), open_page(browser, server)
    b.locator('.dk-mask-spec select').select_option('auv:lawnmower')
    b.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText !== '{text(a, 'dk-coverage-value')}'")
    for p in (a, b): set_knobs(p, **SMALL)
    a.locator('.dk-run button').click(); b.locator('.dk-run button').click()
    for p in (a, b):
        p.wait_for_function(f"() => ({FIND})('dk-metrics-table') !== null", timeout=120_000)
    ma, mb = text(a, 'dk-metrics-body'), text(b, 'dk-metrics-body')
    assert ma != mb
    for p, m in ((a, ma), (b, mb)):   # each page's result was computed on its own mask
        assert f"{coverage(p):.1f}% of the ocean observed" in m, (coverage(p), m)
    b.screenshot(path=str(ART / 'dashboard_second_session.png'), full_page=True)
    a.context.close(); b.context.close()


def test_bad_upload_shows_error_and_app_keeps_working(server, browser):
    page = open_page(browser, server)
    page.locator('.dk-upload input[type=file]').set_input_files(
        files=[{'name': 'bad.nc', 'mimeType': 'application/x-netcdf', 'buffer': b'this is not a NetCDF file'}])
    page.wait_for_function(f"() => ({TXT})('dk-error-text').includes('Could not load bad.nc')", timeout=30_000)
    page.screenshot(path=str(ART / 'dashboard_bad_upload.png'), full_page=True)
    set_knobs(page, **SMALL)
    run_and_wait(page)
    assert frames_shown(page) >= 1
    page.context.close()
