"""Remove the notebook-level ipywidgets state (`metadata.widgets`) that executing a notebook with widgets leaves behind.

`nbdev_clean` keeps that key on purpose (it lets rendered docs show live widgets); here it is only hundreds of KB of
noise in every diff. `bash run.sh clean` runs this, then `nbdev_clean`; `bash run.sh test` fails when a notebook
still carries widget state (tests/test_notebook_hygiene.py).
"""
import json, sys
from pathlib import Path

def strip(paths) -> list:
    "Strip `metadata.widgets` from the notebooks among `paths` (files or folders); returns the files changed."
    changed = []
    for root in paths:
        root = Path(root)
        for p in sorted(root.rglob('*.ipynb') if root.is_dir() else [root]):
            if '.ipynb_checkpoints' in p.parts: continue
            nb = json.loads(p.read_text())
            if 'widgets' in nb.get('metadata', {}):
                del nb['metadata']['widgets']
                p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
                changed.append(str(p))
    return changed

if __name__ == '__main__':
    for p in strip(sys.argv[1:] or ['nbs']): print(f"stripped widget state: {p}")
