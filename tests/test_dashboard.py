"""The dashboard in a real browser: `panel serve apps/inpaint.py` on localhost, driven by Debian's chromium through
Playwright for Python (DESIGN §7). The server is started and stopped here. Screenshots of the key states go to
test-artifacts/ (not committed).

Needs /usr/bin/chromium (`apt-get update && apt-get install -y chromium`); without it these tests fail, loudly.
The session model's logic is tested without a browser in nbs/13_session.ipynb, the view in nbs/14_dashboard.ipynb.
"""
import asyncio, concurrent.futures, io, json, os, re, sys, time, urllib.parse, urllib.request

import pytest

from servers import ART, ROOT, free_port, served

pytestmark = pytest.mark.slow
SMALL = dict(method='adaptive', t_start=20, resample=1)   # 20 network calls: a second or two on 2 CPU cores

# JS: the first element with a class, searching open shadow roots (Bokeh 3 renders into them)
FIND = """(cls) => { const go = (root) => { const e = root.querySelector('.' + cls); if (e) return e;
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = go(el.shadowRoot); if (f) return f; }
  return null; }; return go(document); }"""
TXT = f"(cls) => ({FIND})(cls)?.innerText ?? ''"   # the text of the element with that class (Panel panes: use inner spans)


UPLOAD_MB = 0.2   # the test server's upload limit (DIFFKIT_MAX_UPLOAD_MB): small, so that an oversized upload is quick to send


def run_sh_env(port, **more) -> dict:
    "The environment for `bash run.sh` in these tests: localhost, this port, no login, a small upload limit (others: defaults)."
    return dict(dict(PORT=str(port), ADDRESS='127.0.0.1', PASSWORD='', AUTH_FILE='', DIFFKIT_MAX_UPLOAD_MB=str(UPLOAD_MB)), **more)


@pytest.fixture(scope='module')
def server():
    "The dashboard as users start it (`bash run.sh`: its origins, websocket limit and auth flags) on a free localhost port; log in test-artifacts/."
    port = free_port()
    with served(['bash', 'run.sh'], f'http://127.0.0.1:{port}/inpaint', 'panel_serve.log', env=run_sh_env(port)) as url: yield url


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
    "Pick a method, then set its knobs (a method resets the knobs to its preset: wait for that reset to reach the page first)."
    from diffkit.methods import make_config
    menu = page.locator('.dk-method select')
    changed = menu.input_value() != method
    menu.select_option(method)
    if changed:   # the reset's cost line: a knob typed before the reset reaches the page would be overwritten by it
        cfg = make_config(method)
        page.wait_for_function(f"() => {{ const t = ({TXT})('dk-cost-text'); return t.startsWith('{cfg.calls():,} network calls × {cfg.ensemble} member(s)') "
                               f"|| t.includes('costs {cfg.cost():,} field evaluations'); }}", timeout=30_000)
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


def magenta_pixels(page) -> int:
    "Pixels of the suggested track's colour (#ff2bd6) in a screenshot of the map."
    from PIL import Image
    import numpy as np
    a = np.asarray(Image.open(io.BytesIO(page.locator('.dk-map').first.screenshot())).convert('RGB')).astype(int)
    return int(((a[..., 0] > 220) & (a[..., 1] < 90) & (a[..., 2] > 170)).sum())


def test_suggest_accept_then_run(server, browser):
    "The survey loop once: Suggest draws a track on the map, Accept adds it to the mask (coverage grows), Run fills the new mask."
    from playwright.sync_api import expect
    page = open_page(browser, server)
    c0, before = coverage(page), text(page, 'dk-coverage-value')
    expect(page.locator('.dk-accept button')).to_be_disabled()
    m0 = magenta_pixels(page)
    t0 = time.perf_counter()
    page.locator('.dk-suggest button').click()
    page.wait_for_function(f"() => ({FIND})('dk-leg-ends') !== null", timeout=60_000)
    print(f"track suggested in {time.perf_counter() - t0:.2f} s: {text(page, 'dk-suggest-text')}")
    ends = [float(v) for v in re.findall(r'-?\d+\.\d', text(page, 'dk-leg-ends'))]
    assert len(ends) == 4 and ends[:2] != ends[2:], ends
    page.wait_for_timeout(300)   # the canvas redraw
    m1 = magenta_pixels(page)
    assert m1 > m0 + 50, f"the track is not drawn on the map ({m0} → {m1} magenta pixels)"
    page.screenshot(path=str(ART / 'dashboard_suggested.png'), full_page=True)
    expect(page.locator('.dk-accept button')).to_be_enabled(timeout=10_000)
    page.locator('.dk-accept button').click()
    page.wait_for_function(f"() => ({FIND})('dk-coverage-value').innerText !== '{before}'", timeout=15_000)
    c1 = coverage(page)
    assert c1 > c0, (c0, c1)
    expect(page.locator('.dk-leg-ends')).to_have_count(0, timeout=10_000)   # accepted: the suggestion is gone
    expect(page.locator('.dk-accept button')).to_be_disabled()
    set_knobs(page, **SMALL, ensemble=2)                  # two members (40 evaluations): the run shows its calibration
    run_and_wait(page)
    body = text(page, 'dk-metrics-body')
    assert f"{c1:.1f}% of the ocean observed" in body and '±2σ coverage' in body, (c1, body)
    page.locator('.dk-calibration canvas').first.wait_for()
    page.screenshot(path=str(ART / 'dashboard_track_run.png'), full_page=True)
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


def ws_handshake(url, origin, page_cookie=None, ws_cookie=None) -> str:
    "Open the page's websocket (/ws, with the session token of a page fetched now) sending this Origin: '101 …' when accepted, else the HTTP status."
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect
    req = urllib.request.Request(url, headers={'Cookie': page_cookie} if page_cookie else {})
    token = re.search(r'"token":"([^"]+)"', urllib.request.urlopen(req, timeout=60).read().decode()).group(1)
    async def go():
        try:
            c = await websocket_connect(HTTPRequest(url.replace('http://', 'ws://') + '/ws',
                                                    headers={'Origin': origin, **({'Cookie': ws_cookie} if ws_cookie else {})}),
                                        subprotocols=['bokeh', token])
            first = await c.read_message(); c.close()
            return f"101, first message {'received' if first else 'none: closed'}"
        except HTTPClientError as e: return f"{e.code} {e.message}"
    with concurrent.futures.ThreadPoolExecutor(1) as ex:   # a thread of its own: Playwright's sync API holds this thread's event loop
        return ex.submit(lambda: asyncio.run(go())).result(120)


def test_foreign_origin_refused(server):
    "run.sh allows the origins it serves under (localhost and 127.0.0.1 on its port) and refuses others."
    port = urllib.parse.urlsplit(server).port
    for ok in (f'http://127.0.0.1:{port}', f'http://localhost:{port}'):
        assert ws_handshake(server, ok) == '101, first message received', ok
    for foreign in ('http://evil.example', f'http://127.0.0.1:{port + 1}', 'null'):
        assert ws_handshake(server, foreign) == '403 Forbidden', foreign


def bomb_nc() -> bytes:
    "A small compressed NetCDF of 4,000 snapshots of zero currents: 394 MB once read."
    import tempfile, netCDF4, numpy as np
    with tempfile.TemporaryDirectory() as d:
        with netCDF4.Dataset(f'{d}/bomb.nc', 'w') as ds:
            for dim, n in (('time', 4000), ('y', 44), ('x', 94)): ds.createDimension(dim, n)
            for name in ('u', 'v'):
                var = ds.createVariable(name, 'f4', ('time', 'y', 'x'), zlib=True, complevel=9, chunksizes=(500, 44, 94))
                var.units = 'm/s'
                for t in range(0, 4000, 500): var[t:t + 500] = np.zeros((500, 44, 94), np.float32)
        return open(f'{d}/bomb.nc', 'rb').read()


def test_oversized_upload_refused_while_another_session_runs(server, browser):
    a, b = open_page(browser, server), open_page(browser, server)
    set_knobs(b, **SMALL)
    b.locator('.dk-run button').click()                     # page b runs while page a uploads
    big = b'CDF\x01' + bytes(int(UPLOAD_MB * 1e6))          # over the upload limit, under the websocket's message limit
    a.locator('.dk-upload input[type=file]').set_input_files(files=[{'name': 'big.nc', 'mimeType': 'application/x-netcdf', 'buffer': big}])
    a.wait_for_function(f"() => ({TXT})('dk-error-text').includes(\"over this server's upload limit of {UPLOAD_MB:g} MB\")", timeout=30_000)
    a.screenshot(path=str(ART / 'dashboard_upload_too_big.png'), full_page=True)
    bomb = bomb_nc()
    assert len(bomb) < UPLOAD_MB * 1e6, len(bomb)
    a.locator('.dk-upload input[type=file]').set_input_files(files=[{'name': 'bomb.nc', 'mimeType': 'application/x-netcdf', 'buffer': bomb}])
    a.wait_for_function(f"() => ({TXT})('dk-error-text').includes('DIFFKIT_MAX_DECODED_MB')", timeout=30_000)
    assert 'Could not load bomb.nc: its velocities would take' in text(a, 'dk-error-text')
    b.wait_for_function(f"() => ({FIND})('dk-metrics-table') !== null", timeout=120_000)
    assert frames_shown(b) >= 1 and 'gap MSE ratio vs GP' in text(b, 'dk-metrics-body')
    # the cost cap, in the page: announced in the cost line, refused on Run with the same message
    set_knobs(a, method='ensemble', ensemble=64)
    a.wait_for_function(f"() => ({TXT})('dk-cost-text').includes('lower ensemble to')", timeout=15_000)
    a.locator('.dk-run button').click()
    a.wait_for_function(f"() => ({TXT})('dk-error-text').includes('DIFFKIT_MAX_RUN_COST')", timeout=15_000)
    assert '104,000 field evaluations' in text(a, 'dk-error-text')
    a.screenshot(path=str(ART / 'dashboard_cost_cap.png'), full_page=True)
    set_knobs(a, **SMALL)                                  # page a still works after all three refusals
    run_and_wait(a)
    a.context.close(); b.context.close()


@pytest.mark.parametrize('mode', ['PASSWORD', 'AUTH_FILE'])
def test_login_opt_in(mode, tmp_path):
    "PASSWORD=... or AUTH_FILE=users.json bash run.sh: the page and its websocket need the login; no password on the command line."
    import http.cookiejar, subprocess
    port, pw = free_port(), 'Tide-Pool 7!'
    users = tmp_path / 'users.json'
    users.write_text(json.dumps({'ana': pw}))
    env = run_sh_env(port, COOKIE_SECRET='0123456789abcdef' * 4, **({'PASSWORD': pw} if mode == 'PASSWORD' else {'AUTH_FILE': str(users)}))
    user_name = 'anyone' if mode == 'PASSWORD' else 'ana'
    before = set((ROOT / '.venv').glob('.diffkit-basic-auth.*.json'))
    with served(['bash', 'run.sh'], f'http://127.0.0.1:{port}/login', f'panel_serve_{mode.lower()}.log', env=env):
        url, login = f'http://127.0.0.1:{port}/inpaint', f'http://127.0.0.1:{port}/login'
        (made,) = set((ROOT / '.venv').glob('.diffkit-basic-auth.*.json')) - before   # run.sh's private copy, while it serves
        assert made.stat().st_mode & 0o077 == 0 and json.loads(made.read_text()) == (pw if mode == 'PASSWORD' else {'ana': pw})
        users.unlink()                  # the user's file may go: Panel reads run.sh's copy (without it, the path would be the password)
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k): return None
        try: urllib.request.build_opener(NoRedirect).open(url, timeout=30); assert False, "the page opened without a login"
        except urllib.error.HTTPError as e: assert e.code == 302 and '/login' in e.headers['Location'], (e.code, e.headers)
        jar = http.cookiejar.CookieJar()
        browser_like = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        post = lambda u, p: browser_like.open(login, data=urllib.parse.urlencode(dict(username=u, password=p)).encode(), timeout=30).url
        for u, guess in ((user_name, 'tide-pool 7!'), (user_name, 'wrong'), (user_name, str(users)), (user_name, str(made))):
            assert 'error=' in post(u, guess), guess  # compared exactly (case too); neither path is a password
        if mode == 'AUTH_FILE': assert 'error=' in post('bob', pw)   # a user not in the file
        assert 'error=' not in post(user_name, pw)
        assert browser_like.open(url, timeout=60).status == 200
        cookie, origin = '; '.join(f'{c.name}={c.value}' for c in jar), f'http://127.0.0.1:{port}'
        assert ws_handshake(url, origin, cookie, ws_cookie=cookie) == '101, first message received'
        assert ws_handshake(url, origin, cookie) != '101, first message received'   # a page's token without the login
        ps = subprocess.run(['ps', '-eww', '-o', 'args='], capture_output=True, text=True).stdout
        assert pw not in ps and f'--basic-auth {made}' in ps
    assert set((ROOT / '.venv').glob('.diffkit-basic-auth.*.json')) == before, "the password file outlived the server"


@pytest.mark.parametrize('env, message', [
    (dict(PASSWORD='x', AUTH_FILE='users.json'), 'set PASSWORD or AUTH_FILE, not both'),
    (dict(AUTH_FILE='/nonexistent/users.json'), 'could not be read as JSON'),
    (dict(AUTH_FILE='run.sh'), 'could not be read as JSON'),
    (dict(DIFFKIT_MAX_UPLOAD_MB='lots'), "DIFFKIT_MAX_UPLOAD_MB must be a positive number of MB, got 'lots'"),
])
def test_run_sh_refuses_bad_settings(env, message):
    import subprocess
    r = subprocess.run(['bash', 'run.sh'], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, **run_sh_env(free_port()), **env})
    assert r.returncode == 2 and message in r.stderr, (r.returncode, r.stderr[-2000:])
