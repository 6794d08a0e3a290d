"""The ipywidgets explorer in a real JupyterLab: `jupyter lab` on localhost (a scratch root folder and config), a
notebook that calls `diffkit.widgets.explore()`, driven by Debian's chromium through Playwright. The widget must
render, and a click on Run must update the trajectory picture, the status line and the metrics.
The explorer's logic is tested without a browser in nbs/15_widgets.ipynb; this checks the JupyterLab side once.
Screenshots go to test-artifacts/ (not committed).
"""
import json, sys

import pytest

from servers import ART, free_port, served

pytestmark = pytest.mark.slow
TOKEN = 'diffkit-test'
NOTEBOOK = dict(nbformat=4, nbformat_minor=5,
                metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
                cells=[dict(cell_type='code', metadata={}, outputs=[], execution_count=None, source=src) for src in (
                    "import torch; torch.set_num_threads(1)\nfrom diffkit.widgets import explore",
                    "ex = explore(index=5, mask_spec='transect', t_start=8, resample=1)   # a tiny run: a few network calls\nex")])


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "`jupyter lab` on a free localhost port, serving a scratch folder with explore.ipynb; yields the notebook's URL."
    root = tmp_path_factory.mktemp('lab')
    (root / 'explore.ipynb').write_text(json.dumps(NOTEBOOK))
    port = free_port()
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', f'--port={port}', '--ip=127.0.0.1',
           f'--ServerApp.root_dir={root}', f'--IdentityProvider.token={TOKEN}', '--LabApp.expose_app_in_browser=True',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    env = dict(JUPYTER_CONFIG_DIR=str(root / '.config'), JUPYTER_RUNTIME_DIR=str(root / '.runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(root / '.settings'), JUPYTERLAB_WORKSPACES_DIR=str(root / '.workspaces'))
    with served(cmd, f'http://127.0.0.1:{port}/api/status?token={TOKEN}', 'jupyter_lab.log', cwd=root, env=env, timeout=180):
        yield f'http://127.0.0.1:{port}/lab/tree/explore.ipynb?token={TOKEN}'


def test_explorer_renders_and_runs_in_jupyterlab(lab, browser):
    page = browser.new_context(viewport={'width': 1500, 'height': 1300}).new_page()
    page.set_default_timeout(120_000)
    page.goto(lab)
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook')")
    page.wait_for_function("() => { const s = window.jupyterapp.shell.currentWidget?.sessionContext;"
                           " return s && s.session?.kernel?.connectionStatus === 'connected'; }")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    run = page.locator('.jupyter-widgets button', has_text='Run')
    run.wait_for()                                           # the explorer rendered as widgets, not as text
    field = page.locator('.jupyter-widgets img').first
    field.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 200", field.element_handle()), "the field picture is empty"
    assert 'demo sample, snapshot 5' not in page.locator('.jp-OutputArea-output').last.inner_text()  # a widget, not its repr
    page.screenshot(path=str(ART / 'jupyterlab_explorer.png'), full_page=True)
    imgs = page.locator('.jupyter-widgets img')
    before = [imgs.nth(i).get_attribute('src') for i in range(imgs.count())]
    run.click()
    page.wait_for_function("() => [...document.querySelectorAll('.diffkit-status')].some(e => e.innerText.startsWith('done'))")
    page.locator('.diffkit-metrics').wait_for()
    assert 'gap RMSE, diffusion' in page.locator('.diffkit-metrics').inner_text()
    after = [imgs.nth(i).get_attribute('src') for i in range(imgs.count())]
    assert sum(a != b for a, b in zip(after, before)) >= 2, "the trajectory and result pictures did not update"
    page.screenshot(path=str(ART / 'jupyterlab_explorer_done.png'), full_page=True)
    page.context.close()
