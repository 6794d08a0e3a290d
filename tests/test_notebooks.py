"""Run every notebook in nbs/ through nbdev's own test runner, one pytest test per notebook.

`nbdev_test` prints only `Success.`; this gives CI a `N passed` line and names the notebook that failed.
The skip flags come from settings.ini (`tst_flags`): slow cells are skipped here, as in `nbdev_test`;
run them with `nbdev_test --flags slow`.
"""
import os
from pathlib import Path

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

os.environ.setdefault('MPLBACKEND', 'Agg')
cfg = get_config()
NBS = sorted(p for p in Path(cfg.nbs_path).rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(cfg.nbs_path).parts))


def test_notebooks_found():
    assert len(NBS) >= 2, f"expected the project's notebooks under {cfg.nbs_path}, found {NBS}"


@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(cfg.nbs_path)) for p in NBS])
def test_notebook(nb):
    ok, seconds = run_notebook(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)
    assert ok, f"{nb.name} failed after {seconds:.1f} s (the traceback is in the captured stderr above)"
