"""`diffkit evaluate --scheduler ADDR` against a Dask cluster started the way users start one: a scheduler and
workers as separate processes, two fields per task, with GP hyperparameters from a file (`--gp-params`, shipped to the workers).
A worker killed mid-run loses only its in-flight fields; they are redone, and the results (the GP's and the diffusion's) equal an
uninterrupted local run with the same file."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CHEAP = ['--method', 'adaptive', '--resample', '1', '--t-start', '30']   # ~30 network calls a field: seconds, not minutes
N = 8


def _start(cmd:list, log:Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(*procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)


def _evaluate(out:Path, *extra) -> list:
    cmd = [str(BIN / 'diffkit'), 'evaluate', '--protocol', 'transect', '--n', str(N), '--batch', '2', *CHEAP, '--out', str(out), '--json', *extra]
    return cmd


def _mse(out:Path) -> dict:
    return {r['field']: (r['mse'], r['gp_mse']) for r in (json.loads(p.read_text()) for p in (out / 'fields').glob('*.json'))}


def _gp_file(tmp_path:Path) -> Path:
    "GP hyperparameters unlike the shipped ones (shorter length scales), as `diffkit gp fit` would write them."
    from diffkit.gp import GPParams, default_gp_params, save_gp_params
    d = default_gp_params()
    return save_gp_params(GPParams(d.kernel, (200., 150.), d.outputscale, d.noise, d.mean), tmp_path / 'short.gp.json')


@pytest.mark.slow
def test_cluster_with_a_killed_worker(tmp_path):
    sched_file = tmp_path / 'scheduler.json'
    sched = _start([str(BIN / 'dask'), 'scheduler', '--scheduler-file', str(sched_file), '--port', '0', '--dashboard-address', ':0'],
                   tmp_path / 'scheduler.log')
    workers = []
    try:
        for _ in range(60):
            if sched_file.exists(): break
            time.sleep(0.5)
        address = json.loads(sched_file.read_text())['address']
        env = dict(os.environ, OMP_NUM_THREADS='1')
        workers = [subprocess.Popen([str(BIN / 'dask'), 'worker', address, '--nworkers', '1', '--nthreads', '1', '--no-nanny',
                                     '--dashboard-address', ':0', '--memory-limit', '0'],
                                    stdout=open(tmp_path / f'worker{k}.log', 'w'), stderr=subprocess.STDOUT, env=env, start_new_session=True)
                   for k in range(2)]
        out, gp_file = tmp_path / 'cluster', _gp_file(tmp_path)
        run = subprocess.Popen(_evaluate(out, '--scheduler', address, '--gp-params', str(gp_file)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while not (out / 'fields').exists() or len(list((out / 'fields').glob('*.json'))) < 1:   # the first field is done …
            assert run.poll() is None, run.stderr.read()
            assert time.time() - t0 < 600, 'no field finished within 10 minutes'
            time.sleep(0.2)
        done_at_kill = len(list((out / 'fields').glob('*.json')))
        os.kill(workers[0].pid, signal.SIGKILL)                                                 # … then a worker dies
        stdout, stderr = run.communicate(timeout=900)
        assert run.returncode == 0, stderr
        assert done_at_kill < N, 'the run finished before the worker was killed: nothing was tested'
        res = json.loads(stdout)
        assert res['n'] == N
        summary = json.loads((out / 'summary.json').read_text())
        assert summary['memory']['max_worker_peak_rss_mb'] > 0 and summary['memory']['client_peak_rss_mb'] > 0
        assert len(summary['memory']['worker_peak_rss_mb']) >= 1
        assert summary['gp_params'] == str(gp_file.resolve()) or Path(summary['gp_params']).name == gp_file.name, summary['gp_params']
    finally:
        _stop(*workers, sched)
    local = tmp_path / 'local'
    subprocess.run(_evaluate(local, '--workers', '0', '--gp-params', str(gp_file)), check=True, capture_output=True, timeout=900,
                   env=dict(os.environ, OMP_NUM_THREADS='1'))   # one torch thread, as on the workers
    a, b = _mse(out), _mse(local)
    assert sorted(a) == sorted(b) == list(range(N))
    assert a == b, (a, b)   # the redone fields equal an uninterrupted run, bit for bit: the workers used the file's GP
    shipped = tmp_path / 'shipped'
    subprocess.run(_evaluate(shipped, '--workers', '0'), check=True, capture_output=True, timeout=900,
                   env=dict(os.environ, OMP_NUM_THREADS='1'))
    c = _mse(shipped)
    assert sorted(c) == sorted(a) and all(c[k][1] != a[k][1] for k in c), (a, c)   # and that GP is not the shipped one
