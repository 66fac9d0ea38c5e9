"""``sse-fem run``: mesh, problem, steady/transient loop, outputs, failure handling, restart.

The driver knows no physics: it drives the problem's controller (the module that has the
``Controller`` capability), asks every module for observed values (columns namespaced by
module), balances (a miss ends the run ``failed``) and final outputs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time as clock
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mpi4py import MPI

import numpy as np

from sse_fem.config import resolved_dict
from sse_fem.errors import CaseError, Interrupted, SolverFailure
from sse_fem.io.results import ResultsWriter
from sse_fem.logs import get_logger
from sse_fem.parallel import log_traceback

if TYPE_CHECKING:
    from sse_fem.config.schema import Case, ProtocolStep
    from sse_fem.mesh import MeshBundle
    from sse_fem.problem import Problem


#: a protocol step ends on its cut-off: a step that crosses it by more than this fraction of
#: the step's change is retried shorter (secant), at most ``MAX_CUTOFF_LANDINGS`` times
CUTOFF_OVERSHOOT = 0.01
MAX_CUTOFF_LANDINGS = 4


class Run:
    """One run of a case into an output directory."""

    def __init__(
        self,
        case: Case,
        outdir: str | None = None,
        restart: str | None = None,
        comm: MPI.Comm = MPI.COMM_WORLD,
        case_file: str | None = None,
    ) -> None:
        self.case = case
        self.case_file = case_file  # recorded in the summary's provenance
        self.comm = comm
        self.outdir = Path(
            outdir or restart or case.outputs.directory or f"results/{case.case.name}"
        )
        self.restart = restart
        self.log = get_logger()
        self.steps = 0
        self.newton_total = 0
        self.krylov_total = 0
        self.cuts = 0
        self.balances: dict[str, dict[str, float]] = {}

    # --- entry ---------------------------------------------------------------------------
    def execute(self) -> dict:
        from sse_fem.mesh import build_mesh
        from sse_fem.problem import build_problem
        from sse_fem.runtime import now, provenance, versions

        t_start = clock.perf_counter()
        if self.restart:
            self._check_restartable()
        self._signal: str | None = None
        self._old_handlers: dict[int, Any] = {}
        self.writer = ResultsWriter(self.outdir, self.comm, self.case.outputs.field_format)
        handler = self._attach_logfile()
        self.writer.write_resolved_case(resolved_dict(self.case))
        summary: dict[str, Any] = {
            "case": self.case.case.name,
            "status": "running",
            "ranks": self.comm.size,
            "versions": versions(),
            "provenance": provenance(self.case_file),
        }
        problem = None
        timings: dict[str, float] = {}
        try:
            t0 = clock.perf_counter()
            bundle = build_mesh(self.case, self.comm)
            timings["mesh_s"] = clock.perf_counter() - t0
            summary["mesh"] = self._mesh_summary(bundle)
            t0 = clock.perf_counter()
            problem = build_problem(self.case, bundle)
            self._catch_signals()  # after PETSc's own handlers are in place
            timings["setup_s"] = clock.perf_counter() - t0
            summary["solver"] = {
                "preset": problem.preset,
                "linear": problem.linear,
                "petsc_options": {k: str(v) for k, v in problem.petsc_options.items()},
                "dofs": {
                    uk.name: uk.u.function_space.dofmap.index_map.size_global * uk.block_size
                    for uk in problem.unknowns
                },
            }
            self.log.info(
                "%s: %d dofs, preset %s, %d rank(s)",
                self.case.case.name,
                sum(summary["solver"]["dofs"].values()),
                problem.preset,
                self.comm.size,
            )
            summary["coupling"] = problem.quantities.report()
            t0 = clock.perf_counter()
            if self.case.time.mode == "steady":
                self._steady(problem)
            else:
                self._transient(problem)
            timings["solve_s"] = clock.perf_counter() - t0
            summary["status"] = "ok"
            if self.comm.rank == 0:  # a finished run is not restarted: drop the field states
                shutil.rmtree(self._field_state_dir(), ignore_errors=True)
        except SolverFailure as err:
            summary["status"] = "failed"
            summary["reason"] = str(err)
            self.log.error("run failed: %s", err)
        except Interrupted as err:
            summary["status"] = "interrupted"
            summary["reason"] = str(err)
            self.log.warning("run interrupted: %s (continue with --restart %s)", err, self.outdir)
        except Exception as err:  # recorded in summary.json and run.log, then re-raised
            summary["status"] = "failed"
            if isinstance(err, CaseError):
                summary["reason"] = str(err)
            else:
                summary["reason"] = f"internal error: {type(err).__name__}: {err}"
                log_traceback(err)
            raise
        finally:
            self._restore_signals()
            timings["total_s"] = clock.perf_counter() - t_start
            summary["timings"] = timings
            summary["provenance"]["finished"] = now()
            summary["statistics"] = {
                "steps": self.steps,
                "newton_iterations": self.newton_total,
                "krylov_iterations": self.krylov_total,
                "step_cuts": self.cuts,
            }
            summary["conservation"] = self.balances
            if problem is not None and problem.block_counter is not None:
                summary["statistics"]["krylov_iterations_by_block"] = dict(
                    problem.block_counter.total
                )
            if problem is not None:
                summary["results"] = self.writer.rows[-1] if self.writer.rows else {}
                try:
                    for m in problem.modules:
                        summary.setdefault("outputs", {})[m.name] = m.finalize(problem, self.writer)
                finally:
                    problem.close()
            if summary["status"] == "running":
                summary["status"] = "failed"
                summary["reason"] = "aborted by an error (see run.log)"
            self.writer.write_summary(summary)
            if self.case.outputs.report and self.comm.rank == 0:
                self._write_report()
            self.writer.close()  # releases OUT/.lock after the summary is on disk
            self.comm.barrier()  # every rank returns once the files are on disk
            if handler is not None:
                handler.close()
                self.log.removeHandler(handler)
        self.log.info("status: %s -> %s", summary["status"], self.outdir)
        return summary

    def _write_report(self) -> None:
        """report.html; a failure to draw it is logged and never changes the run's status."""
        from sse_fem.postprocess.report import write_report

        try:
            write_report(self.outdir)
        except Exception as err:  # the run's results are on disk already
            self.log.warning("report.html not written: %s: %s", type(err).__name__, err)

    def _attach_logfile(self) -> logging.Handler | None:
        if self.comm.rank != 0:
            return None
        h = logging.FileHandler(self.outdir / "run.log", mode="a")
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(h)
        if self.log.level > logging.INFO or self.log.level == logging.NOTSET:
            self.log.setLevel(logging.INFO)
        return h

    def _mesh_summary(self, bundle: MeshBundle) -> dict:
        tdim = bundle.dim
        return {
            "dimension": tdim,
            "cells": bundle.mesh.topology.index_map(tdim).size_global,
            "vertices": bundle.mesh.topology.index_map(0).size_global,
            "regions": bundle.regions,
            "interfaces": bundle.interfaces,
            "boundaries": bundle.boundaries,
            "builder": bundle.info,
        }

    # --- solving -------------------------------------------------------------------------
    def _record(
        self,
        problem: Problem,
        t: float,
        its: int,
        lin: int,
        dt: float,
        observed: dict[str, dict[str, float]] | None = None,
    ) -> dict:
        """Observe (unless ``observed`` is this state's), check the balances, write the row
        (and fields); returns the controller's own observed values (cut-offs, progress)."""
        self.steps += 1
        self.newton_total += its
        self.krylov_total += lin
        row: dict[str, float] = {
            "time_s": t,
            "dt_s": dt,
            "newton_iterations": its,
            "krylov_iterations": lin,
        }
        observed = observed if observed is not None else problem.observe()
        self.balances = problem.conservation()
        for module, values in observed.items():
            row |= {f"{module}.{k}": v for k, v in values.items()}
        for module, balance in self.balances.items():
            row[f"{module}.balance_error"] = balance["balance_error"]
        self.writer.add_row(row)
        if self.case.outputs.fields and (self.steps - 1) % self.case.outputs.every == 0:
            self._write_fields(problem, t)
            if problem.transient:
                self._save_field_state(problem, t)
        for m in problem.modules:
            reason = m.check_state(problem)
            if reason is not None:
                raise SolverFailure(f"{m.name}: {reason} at t = {t:.6g} s")
        for module, balance in self.balances.items():
            if not balance["balance_error"] <= balance["tolerance"]:
                raise SolverFailure(
                    f"{module}: balance missed at t = {t:.6g} s: relative error "
                    f"{balance['balance_error']:.3g} > tolerance {balance['tolerance']:.3g} "
                    "(solver.balance_tolerance); the solution is not trustworthy"
                )
        controller = problem.controller
        return observed.get(controller.name, {}) if controller is not None else {}

    def _steady(self, problem: Problem) -> None:
        """Solve at full load; on failure, continue in the load factor with step cuts."""
        ok, its, lin = self._solve_at_load(problem, 1.0)
        if not ok:
            self.log.info("direct solve failed; continuation in load")
            problem.restore()
            load, step = 0.0, 0.25
            cuts = 0
            while load < 1.0:
                target = min(1.0, load + step)
                ok, its_k, lin_k = self._solve_at_load(problem, target)
                its += its_k
                lin += lin_k
                if ok:
                    problem.accept_step(0.0)
                    load, step = target, step * 1.5
                    continue
                problem.restore()
                step *= 0.5
                cuts += 1
                self.cuts += 1
                if cuts > self.case.time.max_step_cuts:
                    self._fail(
                        problem,
                        f"Newton diverged at load factor {target:.3g} after "
                        f"{cuts} cuts (reached {load:.3g})",
                        0.0,
                    )
        self._record(problem, 0.0, its, lin, 0.0)

    def _solve_at_load(self, problem: Problem, load: float) -> tuple[bool, int, int]:
        problem.load.value = load
        if problem.controller is not None:
            problem.controller.set_load(load)
        return problem.solve()

    @staticmethod
    def _land_on_cutoff(
        before: float | None, now: float | None, h: float, landings: int
    ) -> float | None:
        """A shorter step that lands on the cut-off when this one (of ``h`` s) crossed it by
        more than ``CUTOFF_OVERSHOOT`` of its change (secant on the margins before and after;
        at most ``MAX_CUTOFF_LANDINGS`` tries); None to accept the step."""
        if before is None or now is None or before <= 0 or now > 0:
            return None
        if -now <= CUTOFF_OVERSHOOT * (before - now) or landings >= MAX_CUTOFF_LANDINGS:
            return None
        return h * before / (before - now) * (1 + CUTOFF_OVERSHOOT / 2)

    @staticmethod
    def _drive_value(problem: Problem, step: ProtocolStep) -> float | None:
        """The SI value of a protocol step; a C-rate times the shared ``one_c_current``."""
        if step.c_rate is None:
            return step.si_value
        one_c = problem.scalar("one_c_current", "driver")
        if one_c is None:
            raise CaseError(
                f"{step.value!r} is a C-rate: it needs active material whose capacity sets "
                "1C (physics.solid_diffusion)",
                "time.protocol",
            )
        return step.c_rate * one_c()

    def _protocol(self) -> list[ProtocolStep | None]:
        tb = self.case.time
        if tb.protocol is None:
            return [None]
        return [step for _ in range(tb.cycles) for step in tb.protocol]

    def _transient(self, problem: Problem) -> None:
        tb = self.case.time
        if tb.dt is None:
            raise CaseError("transient runs need dt", "time.dt")
        dt = tb.dt
        dt_min = tb.dt_min or dt * 1e-6
        dt_max = tb.dt_max or (tb.t_end or dt * 1e6)
        t = 0.0
        steps = self._protocol()
        controller = problem.controller
        if controller is None and any(s is not None for s in steps):
            raise CaseError("the protocol needs a physics that drives the cell", "time.protocol")
        start_index, step_start = 0, None
        t_total = sum(s.duration for s in steps if s is not None) or float(tb.t_end or dt)
        self._solve_start = clock.perf_counter()
        if self.restart:
            t, dt, start_index, step_start = self._load_checkpoint(problem)
        else:
            self._initial_state(problem)
        self._solve_t0 = t
        for index in range(start_index, len(steps)):
            step = steps[index]
            if step is not None:
                assert controller is not None  # checked above
                controller.set_drive(step.mode, self._drive_value(problem, step))
                if step_start is None or index != start_index:
                    step_start = t
                t_stop = step_start + step.duration
            else:
                t_stop = tb.t_end
            # BDF1 after a change of drive; a restart resumes mid-step with the full history
            order = 2 if (self.restart and index == start_index and problem._dt_prev) else 1
            margin = None  # distance to the step's cut-off at the current state
            while t < t_stop * (1 - 1e-12):
                h = min(dt, t_stop - t)
                cuts = landings = 0
                observed = None
                while True:
                    problem.set_step(h, 1 if tb.scheme == "bdf1" else order)
                    ok, its, lin = problem.solve()
                    if ok and step is not None and controller is not None:
                        observed = problem.observe()
                        now = controller.cutoff_margin(step, observed[controller.name])
                        shorter = self._land_on_cutoff(margin, now, h, landings)
                        if shorter is not None:  # crossed the cut-off well inside the step
                            self.newton_total += its
                            self.krylov_total += lin
                            problem.restore()
                            landings += 1
                            h = shorter
                            continue
                        margin = now
                    if ok:
                        break
                    self.newton_total += its  # the failed attempt's work counts too
                    self.krylov_total += lin
                    problem.restore()
                    cuts += 1
                    self.cuts += 1
                    h *= 0.5
                    if cuts > tb.max_step_cuts or h < dt_min:
                        self._fail(
                            problem,
                            f"Newton diverged at t = {t:.6g} s after {cuts} "
                            f"step cuts (dt = {h:.3g} s)",
                            t,
                        )
                t += h
                order = 2
                # observed before the history moves on: rates (BDF) of this step are right
                row = self._record(problem, t, its, lin, h, observed)
                problem.accept_step(h)
                self._progress(t, t_total, h, its, lin, row)
                stop = self._stop_requested()
                if stop or self.steps % tb.checkpoint_every == 0:
                    self._save_checkpoint(problem, t, dt, index, step_start or 0.0)
                if stop:
                    raise Interrupted(f"{stop} at t = {t:.6g} s (checkpoint written)")
                if margin is not None and margin <= 0:
                    self.log.info("protocol step %d ended by cut-off at t = %.6g s", index, t)
                    break
                if tb.adaptive and cuts == 0:
                    if its <= max(1, tb.target_newton_iterations - 2):
                        dt = min(dt_max, h * 1.5)
                    elif its > tb.target_newton_iterations + 2:
                        dt = max(dt_min, h * 0.6)
                    else:
                        dt = h if h < dt else dt
                elif cuts and tb.adaptive:
                    dt = h  # fixed steps (adaptive: false) try the set dt again
        if self.comm.rank == 0 and sys.stderr.isatty():
            print(file=sys.stderr)

    def _initial_state(self, problem: Problem) -> None:
        """Rest state at t = 0 (no drive, no time derivative) as the BDF history."""
        for c in problem.bdf:
            c.value = 0.0
        rest = problem.controller.at_rest() if problem.controller else contextlib.nullcontext()
        problem.initial.value = 1.0
        try:
            with rest:  # observed and balanced at rest too
                ok, its, lin = problem.solve()
                if not ok:
                    self._fail(problem, "no converged initial (rest) state", 0.0)
                problem.initialise_history()
                self._record(problem, 0.0, its, lin, 0.0)
        finally:
            problem.initial.value = 0.0

    def _progress(self, t: float, t_total: float, dt: float, its: int, lin: int, row: dict) -> None:
        """One line on rank 0: time of the whole run, step, dt, Newton and Krylov iterations,
        the controller's voltage and the remaining wall time at the pace so far (cut-offs
        may end protocol steps earlier)."""
        if self.comm.rank != 0:
            return
        v = row.get("voltage_V")
        elapsed = clock.perf_counter() - self._solve_start
        done = t - self._solve_t0  # simulated since this run (or restart) began
        eta = elapsed * max(t_total - t, 0.0) / done if done > 0 else float("nan")
        line = (
            f"t = {t:.4g} s / {t_total:.4g} s ({100 * t / t_total:5.1f} %)  step {self.steps}  "
            f"dt = {dt:.3g} s  Newton {its}  Krylov {lin}"
            + (f"  V = {v:.6g} V" if v is not None else "")
            + f"  ETA {eta:.0f} s"
        )
        if sys.stderr.isatty():
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif self.steps % 10 == 0:
            self.log.info(line)

    def _fail(self, problem: Problem, reason: str, t: float) -> None:
        problem.restore()
        raise SolverFailure(reason)

    # --- fields --------------------------------------------------------------------------
    def _write_fields(self, problem: Problem, t: float) -> None:
        groups: dict[str, list] = {}
        for m in problem.modules:
            for k, v in m.output_functions(problem).items():
                groups.setdefault(k, []).extend(v)
        self.writer.write_fields(groups, t)

    def _field_state_dir(self) -> Path:
        return self.outdir / "checkpoint" / "fields"

    def _save_field_state(self, problem: Problem, t: float) -> None:
        """The unknowns of an output step, so that a restart can write the field files of
        the uninterrupted run (field files cannot be appended to)."""
        folder = self._field_state_dir() / f"step{self.steps:08d}"
        if self.comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
        self.comm.barrier()
        arrays = {uk.name: uk.u.x.array for uk in problem.unknowns}
        np.savez(folder / f"rank{self.comm.rank}of{self.comm.size}.npz", t=t, **arrays)

    def _replay_fields(self, problem: Problem, t_last: float) -> None:
        """Write the field steps up to ``t_last`` [s] again from their saved unknowns (the
        field files then hold what the uninterrupted run wrote), drop later ones, and leave
        the state as it was."""
        if not self.case.outputs.fields:
            return
        saved = {uk.name: uk.u.x.array.copy() for uk in problem.unknowns}
        folders = sorted(self._field_state_dir().glob("step*")) if self.comm.rank == 0 else []
        names = self.comm.bcast([f.name for f in folders], root=0)
        rank_file = f"rank{self.comm.rank}of{self.comm.size}.npz"
        for name in names:
            folder = self._field_state_dir() / name
            try:  # a state torn by kill -9 lies after the last checkpoint: dropped below
                data = np.load(folder / rank_file)
                t = float(data["t"])
            except (OSError, ValueError, zipfile.BadZipFile):
                t = np.inf
            t = self.comm.allreduce(t, op=MPI.MAX)
            if t > t_last * (1 + 1e-12):
                self.comm.barrier()
                if self.comm.rank == 0:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            for uk in problem.unknowns:
                uk.u.x.array[:] = data[uk.name]
            self._write_fields(problem, t)
        for uk in problem.unknowns:
            uk.u.x.array[:] = saved[uk.name]
        problem.state_token += 1

    # --- interrupts ----------------------------------------------------------------------
    def _catch_signals(self) -> None:
        """SIGINT/SIGTERM only set a flag; ranks agree on it at step boundaries, so every
        rank stops after the same step, writes a checkpoint and closes its files. A second
        signal stops at once."""

        def note(signum: int, frame: Any) -> None:
            if self._signal is not None:  # a second signal: stop now
                self._restore_signals()
                raise KeyboardInterrupt
            self._signal = signal.Signals(signum).name

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old_handlers[sig] = signal.signal(sig, note)

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)
        self._old_handlers.clear()

    def _stop_requested(self) -> str | None:
        """The signal any rank received (collective), else None."""
        names = self.comm.allgather(self._signal)
        return next((n for n in names if n), None)

    def _check_restartable(self) -> None:
        """--restart continues an unfinished transient run only."""
        if self.case.time.mode != "transient":
            raise CaseError("steady runs have no checkpoint; run the case again", "--restart")
        status = None
        f = self.outdir / "summary.json"
        if self.comm.rank == 0 and f.is_file():
            try:
                status = json.loads(f.read_text()).get("status")
            except (OSError, ValueError):
                status = None
        status = self.comm.bcast(status, root=0)
        if status == "ok":
            raise CaseError(
                f"the run in {self.outdir} finished (status ok); nothing to continue",
                "--restart",
            )

    # --- checkpoint/restart --------------------------------------------------------------
    def _checkpoint_file(self, step: int) -> Path:
        """This rank's file of the checkpoint after ``step`` steps."""
        name = f"rank{self.comm.rank}of{self.comm.size}.npz"
        return self.outdir / "checkpoint" / f"step{step:08d}" / name

    def _latest_checkpoint(self) -> Path:
        """Names the newest complete checkpoint (replaced atomically once every rank wrote)."""
        return self.outdir / "checkpoint" / "latest"

    def _save_checkpoint(
        self, problem: Problem, t: float, dt: float, index: int, step_start: float
    ) -> None:
        arrays = {}
        for uk in problem.unknowns:
            arrays[uk.name] = uk.u.x.array
            for k, h in enumerate(uk.history):
                arrays[f"{uk.name}__h{k}"] = h.x.array
        # every rank writes into a new step folder; once all have, rank 0 points `latest` at
        # it (atomic rename): a run killed at any moment keeps a complete checkpoint
        final = self._checkpoint_file(self.steps)
        if self.comm.rank == 0:
            final.parent.mkdir(parents=True, exist_ok=True)
        self.comm.barrier()
        with open(final, "wb") as fh:
            np.savez(
                fh,
                t=t,
                dt=dt,
                step_start=step_start,
                index=index,
                dt_prev=problem._dt_prev or 0.0,
                steps=self.steps,
                **arrays,
            )
            fh.flush()
            os.fsync(fh.fileno())
        self.comm.barrier()
        if self.comm.rank == 0:
            latest = self._latest_checkpoint()
            previous = latest.read_text().strip() if latest.is_file() else None
            part = latest.with_suffix(".part")
            part.write_text(final.parent.name)
            os.replace(part, latest)
            if previous and previous != final.parent.name:
                shutil.rmtree(latest.parent / previous, ignore_errors=True)

    def _load_checkpoint(self, problem: Problem) -> tuple[float, float, int, float]:
        latest = self._latest_checkpoint()
        step_dir = None
        if self.comm.rank == 0 and latest.is_file():
            step_dir = latest.read_text().strip()
        step_dir = self.comm.bcast(step_dir, root=0)
        f = latest.parent / (step_dir or "none") / self._checkpoint_file(0).name
        if not self.comm.allreduce(f.is_file(), op=MPI.LAND):
            raise CaseError(
                f"no checkpoint for {self.comm.size} rank(s) in {self.outdir}; "
                "restart with the rank count of the original run",
                "--restart",
            )
        data = np.load(f)
        for uk in problem.unknowns:
            uk.u.x.array[:] = data[uk.name]
            for k, h in enumerate(uk.history):
                h.x.array[:] = data[f"{uk.name}__h{k}"]
        t = float(data["t"])
        problem.state_token += 1
        problem.time.value = t
        problem._dt_prev = float(data["dt_prev"]) or None
        self.writer.resume(t)
        self._replay_fields(problem, t)
        self.steps = int(data["steps"])
        self.log.info("restarting from t = %.6g s", t)
        return t, float(data["dt"]), int(data["index"]), float(data["step_start"])


def run_case(
    case: Case,
    outdir: str | None = None,
    restart: str | None = None,
    case_file: str | None = None,
) -> dict:
    """Run a validated case end to end; returns the summary (also written to disk)."""
    return Run(case, outdir=outdir, restart=restart, case_file=case_file).execute()
