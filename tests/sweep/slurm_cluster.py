"""A real one-node SLURM cluster for the tests (Debian slurm-wlm and munge, started directly).

``Cluster.start(folder)`` writes a slurm.conf into ``folder`` (spool, logs and pid files there
too), starts munged (unless one answers), slurmctld and slurmd, and waits for the node to be
idle; ``stop()`` cancels the jobs, waits for them and stops exactly the daemons it started.
Client commands find the cluster through ``SLURM_CONF`` (set in ``env``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    absent = [d for d in DAEMONS if not shutil.which(d) and not Path(f"/usr/sbin/{d}").exists()]
    if absent:
        return (
            f"SLURM/munge not installed ({', '.join(absent)}; "
            "tests/system-packages.sh installs them where apt-get may run)"
        )
    if os.geteuid() != 0:
        return "the one-node SLURM cluster runs as root (SlurmUser=root); not root here"
    return None


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.node = socket.gethostname().split(".")[0]
        self.conf = folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.pidfiles: list[Path] = []

    @classmethod
    def start(cls, folder: Path, timeout_s: float = 60.0) -> Cluster:
        cluster = cls(folder)
        try:
            cluster._start(timeout_s)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start(self, timeout_s: float) -> None:
        self._resolvable()
        self._munge()
        for sub in ("state", "spool", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self._conf_text())
        ctld, slurmd = self.folder / "slurmctld.pid", self.folder / "slurmd.pid"
        self.pidfiles += [slurmd, ctld]
        self._run(["slurmctld", "-i", "-f", str(self.conf)])
        self._run(["slurmd", "-N", self.node, "-f", str(self.conf)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True
            ).stdout.strip()
            if out == "idle":
                return
            if out.startswith("inval"):
                raise RuntimeError(f"SLURM node state {out}: see {self.folder / 'log'}")
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node not idle after {timeout_s:g} s (sinfo: {out!r})")

    def _resolvable(self) -> None:
        """MPICH's launcher inside jobs needs the node name to resolve."""
        try:
            socket.gethostbyname(self.node)
        except OSError:
            with open("/etc/hosts", "a") as fh:
                fh.write(f"127.0.0.1 {self.node}\n")

    def _munge(self) -> None:
        probe = subprocess.run("munge -n | unmunge", shell=True, capture_output=True)  # noqa: S607
        if probe.returncode == 0:
            return
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
        self.pidfiles.append(Path("/run/munge/munged.pid"))

    def _conf_text(self) -> str:
        cpus = os.cpu_count() or 1
        memory = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.9)
        f = self.folder
        return "\n".join(
            [
                "ClusterName=ssefemtest",
                f"SlurmctldHost={self.node}(127.0.0.1)",
                "SlurmUser=root",
                "AuthType=auth/munge",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "MpiDefault=none",
                "ReturnToService=2",
                "MailProg=/bin/true",
                "MinJobAge=300",
                f"JobCompType=jobcomp/filetxt\nJobCompLoc={f / 'log' / 'jobcomp.txt'}",
                f"StateSaveLocation={f / 'state'}",
                f"SlurmdSpoolDir={f / 'spool'}",
                f"SlurmctldPidFile={f / 'slurmctld.pid'}",
                f"SlurmdPidFile={f / 'slurmd.pid'}",
                f"SlurmctldLogFile={f / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={f / 'log' / 'slurmd.log'}",
                f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory}",
                f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(cmd, env=self.env, check=True, capture_output=True, timeout=30)

    def stop(self) -> None:
        """Cancel every job, wait for them, then SIGTERM each daemon this cluster started."""
        if self.conf.exists():
            subprocess.run(["scancel", "--user=root"], env=self.env, capture_output=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                left = subprocess.run(
                    ["squeue", "-h"], env=self.env, capture_output=True, text=True
                )
                if left.returncode != 0 or not left.stdout.strip():
                    break
                time.sleep(0.5)
        for pidfile in self.pidfiles:
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, 15)
            except (OSError, ValueError, IndexError):
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
