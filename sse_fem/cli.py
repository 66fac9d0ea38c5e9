"""``sse-fem`` command line: run, show, report, gold, homogenize, sweep, validate, mesh,
materials, info, schema.

Works under ``mpirun -n N``. Every error ends every rank with one line on stderr
(``sse_fem.parallel``): a bad case or bad CLI use ``error: ...`` and exit status 2, an
internal error ``error: internal error: ...`` (traceback in the log) and 4. A run whose summary
status is not ok (failed, interrupted) exits with 3, a KeyboardInterrupt with 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sse_fem import __version__
from sse_fem.errors import CaseError
from sse_fem.parallel import EXIT_SOLVER_FAILED


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise CaseError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sse-fem", description=__doc__.splitlines()[0])
    p.add_argument("--log-all-ranks", action="store_true", help="log from every MPI rank")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"sse-fem {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a case")
    run.add_argument("case", nargs="?", help="case YAML file")
    run.add_argument("overrides", nargs="*", help="key.path=value overrides")
    run.add_argument(
        "--reproduce",
        metavar="OUT",
        help="run the recorded case of a finished run again (into OUT/reproduce or -o) and "
        "compare the headline figures",
    )
    run.add_argument("-o", "--output", help="output directory (default: outputs.directory)")
    run.add_argument("--restart", metavar="OUTDIR", help="continue a transient run from OUTDIR")
    run.add_argument("-q", "--quiet", action="store_true", help="no headline table at the end")

    show = sub.add_parser("show", help="headline figures of a finished run, or two side by side")
    show.add_argument("outdirs", nargs="+", metavar="OUT", help="one or two output folders")

    hom = sub.add_parser(
        "homogenize", help="effective transport tensor, tortuosity and connectivity of an image"
    )
    hom.add_argument("case")
    hom.add_argument("overrides", nargs="*")
    hom.add_argument("--carrier", choices=["ionic", "electronic", "thermal"], default="ionic")
    hom.add_argument(
        "--method",
        choices=["fv", "fem"],
        default=None,
        help="fv: voxel finite volumes (images); fem: the conduction physics on the case's "
        "mesh; both in parallel; default fv for images, fem otherwise",
    )
    hom.add_argument(
        "--periodic",
        action="store_true",
        help="fv: the image is one cell of a periodic medium (its faces wrap around) instead "
        "of driven faces with insulated sides",
    )
    hom.add_argument(
        "--converged",
        action="store_true",
        help="images: solve at 1, 2 and 3 elements per voxel edge and extrapolate the "
        "diagonal (observed order, estimate, error bar in convergence.csv)",
    )
    hom.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="generated geometries: repeat for this many seeds (geometry.seed and up) and "
        "report means, standard deviations and the percolation probability",
    )
    hom.add_argument(
        "--collector",
        default="bottom",
        help="face the electrons come from, for the particle paths (default: bottom)",
    )
    hom.add_argument(
        "--separator",
        default="top",
        help="face the ions come from, for the particle paths (default: top)",
    )
    hom.add_argument(
        "-o", "--output", help="output directory (default: results/<case>_homogenized)"
    )
    hom.add_argument("-q", "--quiet", action="store_true", help="no headline table at the end")

    rep = sub.add_parser("report", help="(re)write OUT/report.html of a finished run")
    rep.add_argument("outdir", metavar="OUT", help="a run's output folder")

    val = sub.add_parser("validate", help="check a case file without running it")
    val.add_argument("case")
    val.add_argument("overrides", nargs="*")

    msh = sub.add_parser("mesh", help="build the mesh of a case and write it for ParaView")
    msh.add_argument("case")
    msh.add_argument("overrides", nargs="*")
    msh.add_argument("-o", "--output", help="output directory (default: <case name>_mesh)")

    mat = sub.add_parser("materials", help="list library materials or show one")
    mat.add_argument("name", nargs="?")

    sub.add_parser("info", help="versions of sse-fem, dolfinx, PETSc, MPI")

    sch = sub.add_parser(
        "schema", help="print the JSON Schema of case files (for editors: yaml-language-server)"
    )
    sch.add_argument("-o", "--output", help="write it to this file instead")

    gold = sub.add_parser(
        "gold", help="run the shipped cases at their gold size and compare (or --update)"
    )
    gold.add_argument(
        "case_dirs", nargs="*", metavar="CASE_DIR", help="case folders (default: cases/*)"
    )
    gold.add_argument("--update", action="store_true", help="rewrite the gold figures")
    gold.add_argument("-o", "--output", default="results/gold", help="where the runs go")

    sw = sub.add_parser("sweep", help="parameter sweeps: plan, run, status, collect, resubmit")
    verbs = sw.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    for verb, text in (
        ("plan", "the cases and their parameters (a dry run)"),
        ("run", "run the cases not finished yet"),
        ("status", "done / running / failed / pending counts"),
        ("collect", "the results table (sweep.csv, sweep.parquet), optional plots"),
        ("resubmit", "run the failed and missing cases again"),
        ("task", "run one SLURM array task's cases (used by the job script)"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("sweep", help="sweep file (YAML)")
        if verb in ("run", "resubmit"):
            v.add_argument("--executor", choices=["local", "mpi", "slurm"], default="local")
            v.add_argument("--parallel", type=int, help="local: cases at a time")
            v.add_argument("--wait", action="store_true", help="slurm: wait for the jobs")
        if verb == "collect":
            v.add_argument(
                "--plot",
                action="append",
                default=[],
                metavar="FIGURE:PARAM[:PARAM2]",
                help="a figure of merit against one parameter, or a map over two",
            )
        if verb == "task":
            v.add_argument("--list", required=True, help="file of case indices")
            v.add_argument("--item", type=int, required=True, help="SLURM_ARRAY_TASK_ID")
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from sse_fem.config import load_case

    case = load_case(args.case, args.overrides)
    print(
        f"OK: {args.case} ({case.case.name}, {case.dimension}D, "
        f"{len(case.regions)} regions, physics: "
        f"{', '.join(k for k, v in case.physics if v is not None)})"
    )
    return 0


def _cmd_materials(args: argparse.Namespace) -> int:
    from sse_fem.materials import get_material, list_materials

    if args.name is None:
        mats = list_materials()
        print(f"{len(mats)} materials (sse-fem materials NAME shows values and sources):")
        for m in mats:
            print(f"  {m.name:<18} {m.category:<20} {m.formula or m.full_name}")
        return 0
    m = get_material(args.name, "materials NAME")
    print(
        f"{m.name}: {m.full_name} {m.formula} [{m.category}]"
        + (f", mobile ion {m.mobile_ion}" if m.mobile_ion else "")
    )
    for key, p in m.properties.items():
        flags = p.flag + (", low" if p.low else "") + (", verify" if p.verify else "")
        print(
            f"  {key:<36} {p.value:<12.5g} {p.unit:<12} given {p.given!r:<22} "
            f"[{flags}] {p.source}" + (f" - {p.note}" if p.note else "")
        )
    print("sources:")
    for key, ref in m.references.items():
        print(f"  {key}: {ref}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from sse_fem.runtime import versions

    for key, value in versions().items():
        print(f"{key:<22} {value}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from sse_fem.config.json_schema import case_schema

    text = json.dumps(case_schema(), indent=2) + "\n"
    if args.output:
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sse_fem.config import load_case
    from sse_fem.driver import run_case

    if args.reproduce:
        return _reproduce(args)
    if args.case is None:
        raise CaseError("run needs a case file (or --reproduce OUT)", "run")
    case = load_case(args.case, args.overrides)
    case_file = str(Path(args.case).resolve())
    summary = run_case(case, outdir=args.output, restart=args.restart, case_file=case_file)
    if not args.quiet:
        from mpi4py import MPI

        from sse_fem.postprocess.headline import format_table

        if MPI.COMM_WORLD.rank == 0:
            print(format_table([summary], [case.case.name]))
    return 0 if summary["status"] == "ok" else EXIT_SOLVER_FAILED


#: largest relative difference of a headline figure that still counts as reproduced
REPRODUCE_RTOL = 1e-8


def _reproduce(args: argparse.Namespace) -> int:
    """Run OUT's recorded case again and compare: exit 0 when every headline figure of the
    physics agrees to ``REPRODUCE_RTOL``, else 3."""
    from mpi4py import MPI

    from sse_fem.config import load_case
    from sse_fem.driver import run_case
    from sse_fem.gold import differences, figures_of
    from sse_fem.postprocess.headline import format_table, read_summary

    if args.case or args.overrides or args.restart:
        raise CaseError("--reproduce takes no case file, overrides or --restart", "run")
    old = Path(args.reproduce)
    recorded = read_summary(old)
    case = load_case(old / "case.resolved.yaml")
    out = args.output or str(old / "reproduce")
    summary = run_case(case, outdir=out, case_file=str((old / "case.resolved.yaml").resolve()))
    moved = differences(figures_of(recorded), figures_of(summary), REPRODUCE_RTOL)
    same = not [m for m in moved if m[0] != "dofs"]
    if MPI.COMM_WORLD.rank == 0:
        print(format_table([recorded, summary], ["recorded", "reproduced"]))
        print(
            f"reproduced: every figure within {REPRODUCE_RTOL:g} (relative)"
            if same
            else f"NOT reproduced: figures differ by more than {REPRODUCE_RTOL:g} (relative)"
        )
    return 0 if same else EXIT_SOLVER_FAILED


def _cmd_show(args: argparse.Namespace) -> int:
    from sse_fem.postprocess.headline import format_table, read_summary

    if len(args.outdirs) > 2:
        raise CaseError("show takes one output folder, or two to compare", "show")
    summaries = [read_summary(d) for d in args.outdirs]
    names = [str(d) for d in args.outdirs] if len(summaries) == 1 else ["A", "B"]
    if len(summaries) == 2:
        print(f"A = {args.outdirs[0]}\nB = {args.outdirs[1]}")
    print(format_table(summaries, names))
    return 0


def _cmd_homogenize(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from sse_fem.config import load_case
    from sse_fem.config.geometry import is_image
    from sse_fem.config.loader import resolved_dict
    from sse_fem.microstructure.homogenize import homogenize, homogenize_seeds
    from sse_fem.postprocess.headline import format_table
    from sse_fem.postprocess.report import write_report

    case = load_case(args.case, args.overrides)
    image = is_image(case.geometry)
    method = args.method or ("fv" if image else "fem")
    comm = MPI.COMM_WORLD
    out = Path(args.output or f"results/{case.case.name}_homogenized")
    options = {
        "method": method,
        "plots": case.outputs.plots,
        "converged": args.converged,
        "periodic": args.periodic,
        "collector": args.collector,
        "separator": args.separator,
    }
    if args.seeds != 1:
        summary = homogenize_seeds(case, args.carrier, out, args.seeds, comm, **options)
    else:
        summary = homogenize(case, args.carrier, out, comm=comm, **options)
    if comm.rank == 0:
        import yaml

        resolved = yaml.safe_dump(resolved_dict(case), sort_keys=False)
        (out / "case.resolved.yaml").write_text(resolved)
        if case.outputs.report:
            write_report(out)
        if not args.quiet:
            print(format_table([summary], [case.case.name]))
        print(f"status: ok -> {out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from sse_fem.postprocess.report import write_report

    if MPI.COMM_WORLD.rank == 0:
        print(f"wrote {write_report(args.outdir)}")
    return 0


def _cmd_gold(args: argparse.Namespace) -> int:
    """Exit 0 when every figure of every gold run agrees (or after --update), else 3."""
    from mpi4py import MPI

    from sse_fem.gold import check_case_dir

    dirs = args.case_dirs or sorted(str(p.parent) for p in Path("cases").glob("*/case.yaml"))
    if not dirs:
        raise CaseError("no case folders given and no cases/*/case.yaml here", "gold")
    rank = MPI.COMM_WORLD.rank
    moved = []
    for d in dirs:
        moved += [(Path(d).name, *m) for m in check_case_dir(d, args.output, args.update, rank)]
    if rank == 0:
        for folder, name, figure, was, now, why in moved:
            print(f"{folder}/{name}: {figure}: gold {was!r}, now {now!r} ({why})")
        verb = "updated" if args.update else ("MOVED" if moved else "agree")
        print(
            f"gold: {len(dirs)} case folder(s) {verb}" + (f", {len(moved)} figure(s)" * bool(moved))
        )
    return EXIT_SOLVER_FAILED if moved else 0


def _cmd_mesh(args: argparse.Namespace) -> int:
    from sse_fem.config import load_case
    from sse_fem.mesh import write_mesh_outputs

    case = load_case(args.case, args.overrides)
    write_mesh_outputs(case, Path(args.output or f"{case.case.name}_mesh"))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sse_fem.sweep.cli import sweep_command

    return sweep_command(args)


COMMANDS = {
    "run": _cmd_run,
    "show": _cmd_show,
    "report": _cmd_report,
    "homogenize": _cmd_homogenize,
    "gold": _cmd_gold,
    "validate": _cmd_validate,
    "mesh": _cmd_mesh,
    "materials": _cmd_materials,
    "info": _cmd_info,
    "schema": _cmd_schema,
    "sweep": _cmd_sweep,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sse-fem`` console script; returns the exit status."""
    from sse_fem import parallel

    argv = sys.argv[1:] if argv is None else argv
    parallel.init()  # collective, before any work
    return parallel.run_guarded(lambda: _main(argv))


def _main(argv: list[str]) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # overrides given after options (e.g. `run case.yaml -o out a.b=1`)
        if not hasattr(args, "overrides") or any("=" not in e or e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides += extra
    from sse_fem.logs import setup_logging

    setup_logging(all_ranks=args.log_all_ranks, verbose=args.verbose)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # e.g. `sse-fem materials | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
