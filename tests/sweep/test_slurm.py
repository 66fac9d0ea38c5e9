"""The slurm executor against a real one-node SLURM cluster: a 4-case job array with one
failing case, then the resubmission of only that case."""

from __future__ import annotations

import pytest

from sse_fem.cli import main
from sse_fem.sweep.executors import read_jobs
from sse_fem.sweep.spec import load_sweep
from tests.sweep.helpers import four_cases
from tests.sweep.slurm_cluster import Cluster, missing
from tests.sweep.test_executors import mtimes, rows


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(reason)
    started = Cluster.start(tmp_path_factory.mktemp("slurm"))
    yield started
    started.stop()


def test_job_array_with_a_failing_case_then_its_resubmission(
    cluster, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
    path = four_cases(tmp_path, extra={"slurm": {"time": "00:05:00", "max_running": 2}})
    assert main(["sweep", "run", str(path), "--executor", "slurm", "--wait"]) == 3
    assert "submitted job array" in capsys.readouterr().out
    assert [r["status"] for r in rows(path)] == ["done", "done", "done", "failed"]
    assert "Newton diverged" in rows(path)[3]["reason"]
    sweep = load_sweep(path)
    (job,) = read_jobs(sweep)
    assert job["cases"] == [0, 1, 2, 3]
    script = (path.parent / "out" / "slurm" / job["script"]).read_text()
    assert "#SBATCH --array=0-3%2" in script and "#SBATCH --time=00:05:00" in script
    logs = sorted(p.name for p in (path.parent / "out" / "slurm").glob(f"{job['job']}_*.out"))
    assert logs == [f"{job['job']}_{k}.out" for k in range(4)]  # one task per case
    done = mtimes(path, "summary.json")
    # resubmit: only the failed case goes back to SLURM; it fails again, the others stay
    assert main(["sweep", "resubmit", str(path), "--executor", "slurm", "--wait"]) == 3
    jobs = read_jobs(sweep)
    assert len(jobs) == 2 and jobs[1]["cases"] == [3]
    after = mtimes(path, "summary.json")
    assert sorted(k for k in done if after[k] != done[k]) == [
        k for k in done if k.startswith("0003")
    ]
    capsys.readouterr()
    assert main(["sweep", "status", str(path)]) == 0
    assert "3 done, 1 failed" in capsys.readouterr().out
