"""Starting and stopping the local servers the browser tests drive (`panel serve`, `jupyter lab`)."""
import contextlib, os, signal, socket, subprocess, time, urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ART = ROOT / 'test-artifacts'     # screenshots and server logs (not committed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@contextlib.contextmanager
def served(cmd:list, url:str, log_name:str, cwd=ROOT, env:dict|None=None, timeout:float=120):
    "Run `cmd` in its own process group until `url` answers 200; yield; then stop the group. The log goes to ART/log_name."
    ART.mkdir(exist_ok=True)
    log_path = ART / log_name
    log = open(log_path, 'w')
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED='1', **(env or {})))
    t0 = time.time()
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[2] if len(cmd) > 2 else cmd[0]} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}", pytrace=False)
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    if r.status == 200: break
            except OSError: pass
            if time.time() - t0 > timeout:
                pytest.fail(f"no answer on {url} within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.5)
        print(f"server up after {time.time() - t0:.1f} s")
        yield url
    finally:
        try: os.killpg(proc.pid, signal.SIGTERM)   # the group of the process started above, and only that
        except ProcessLookupError: pass
        try: proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
        log.close()
