"""Mutation testing, one module at a time, each with its own fast test selection (issue 14, item 1).

Usage (from the repository root, with the test extras and mutmut>=3 installed)::

    python tests/mutation/run.py schedspec/formulas.py          # run (or resume) one module
    python tests/mutation/run.py schedspec/formulas.py --report # score and survivors of the last run, no run
    python tests/mutation/run.py schedspec/formulas.py --survivors  # only the survivors again, with the newest tests
    python tests/mutation/run.py schedspec/formulas.py --only 'NAME*'  # only these mutants again (globs)
    python tests/mutation/run.py schedspec/evaluator.py --survivors --tests tests/test_mut_evaluator.py
                                                        # the survivors against the tests written for them
    python tests/mutation/run.py --list                         # the modules and their test selections

Each module runs in its own scratch copy, ``.mutation/<module>/`` (git-ignored): the tracked files of the
repository are copied there, ``[tool.mutmut]`` is appended to THAT copy's pyproject.toml (the package build of the
repository is not touched), and ``mutmut run`` works in its ``mutants/`` folder under ``nice -n 15``. A second run
of the same module resumes: mutants already decided keep their result, so an interrupted run can be finished
with the same command. The score printed is ``killed / total`` where total counts every mutant mutmut generated
for the module (a mutant no selected test reaches counts as not killed).

The selections are deliberately small (seconds per mutant on 2 shared cores): for a mutant mutmut runs only the
selected tests that reach the mutated function, stopping at the first failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"

# module -> pytest arguments of its fast selection (paths relative to the repository root, -k allowed)
SELECTIONS: dict[str, list[str]] = {
    # numpy and plain-Python paths only: the jax and keras.ops tests of that file (one compilation each) made a
    # surviving mutant cost a minute on 2 shared cores; the JaxXP and KerasXP classes are left to the full suite
    "schedspec/formulas.py": ["tests/test_mutation_kills.py", "tests/test_mut_formulas.py", "-k",
                              "not jax and not keras"],
    # (one -k per selection: pytest keeps only the last; a file's name is a keyword of its tests)
    # the array namespaces: every method of every backend eagerly (tests/test_mut_backends.py: no compiled program,
    # so JaxXP and KerasXP are affordable), and the numpy / plain-Python schedules of the formulas' selection
    "schedspec/backends.py": ["tests/test_mut_backends.py", "tests/test_mutation_kills.py", "tests/test_mut_formulas.py",
                              "-k", "test_mut_backends or (not jax and not keras)"],
    # the sub-ranges of every kind against the reference, the bounds, the overflow search and the sweep groups
    # (tests/test_mut_range.py), the random schedules' extrema, the overflow steps and refusals (real periods,
    # sweeps). Left to the full suite (the selection took 14 s a surviving mutant, 5 to 7 minutes' load on 2
    # cores): the fingerprint property (10 s; it reaches _range only through loading), check's table through the
    # CLI (tests/test_guarantees.py), the 10,000-member sweep and the dense range of 2 * CHUNK steps (2 s, for
    # _dense_blocks, whose mutants were decided with it)
    "schedspec/_range.py": ["tests/test_mut_range.py", "tests/test_robust.py", "tests/test_real_period.py",
                            "tests/test_faults.py", "tests/test_mut_lowering.py", "-k",
                            "test_mut_range or (test_robust and (min_max or extrema or overflow) and not 10000"
                            " and not longer_than_one_block) or (test_real_period and check)"
                            " or (test_faults and overflow) or (test_mut_lowering and overflow)"],
    "schedspec/_param_groups.py": ["tests/test_param_groups_rule.py"],
    "schedspec/_metrics.py": ["tests/test_mutation_kills.py", "tests/test_plateau.py", "tests/test_mut_metrics.py", "-k",
                              "(test_mutation_kills and plateau and not jax)"
                              " or (test_plateau and (errors or lowering or check_works)) or test_mut_metrics"],
    # the per-kind table's interpreters (tests/test_kinds.py: both interpreters on every row, float64 numpy and
    # plain Python, no compilation) and the numpy / plain-Python schedules against tests/reference.py
    # (test_a_new_kind_needs_only_a_model_a_formula_and_a_row runs a copy of the package in a subprocess, where
    # mutmut's stats run, which records the functions each test reaches, fails: left to the full suite); the
    # repeats with a real period or a shifted clock (`_real_repeat`, `real_cycles`, `real_cycle_at`), which no
    # test above reaches, by tests/test_real_period.py (every path against the reference, 45 s)
    "schedspec/_compile.py": ["tests/test_kinds.py", "tests/test_mutation_kills.py", "tests/test_mut_compile.py",
                              "tests/test_real_period.py", "-k", "not jax and not keras and not a_new_kind"],
    "schedspec/lowering/units.py": ["tests/test_language.py", "tests/test_units_positions.py", "tests/test_mut_units.py"],
    # check's table and min/max through the in-process CLI (tests/test_cli.py's `check` tests run the CLI in a
    # subprocess: 25 s for the selection, left to the full suite)
    "schedspec/analysis.py": ["tests/test_guarantees.py", "tests/test_mut_analysis.py", "-k",
                              "check_table or check_header or test_mut_analysis"],
    # the lowering package: loads of small specs, in process (no jax compilation, no subprocess, no framework)
    "schedspec/lowering/checks.py": ["tests/test_language.py", "tests/test_robust.py", "tests/test_mut_lowering.py",
                                     "-k", "test_language or (test_robust and (overflow or jump)) or test_mut_lowering"],
    "schedspec/lowering/validate.py": ["tests/test_language.py", "tests/test_units_positions.py",
                                       "tests/test_positions.py", "tests/test_mut_lowering.py", "-k",
                                       "not keras and not optax"],
    # (check's table through the in-process CLI also binds, but costs a minute a surviving mutant here)
    "schedspec/lowering/bind.py": ["tests/test_language.py", "tests/test_guarantees.py", "tests/test_mut_lowering.py",
                                   "-k", "test_language or (test_guarantees and fingerprint) or test_mut_lowering"],
    # (tests/test_dialect_transformers.py and tests/test_positions.py made a surviving mutant cost a minute)
    "schedspec/lowering/dialect.py": ["tests/test_language.py", "tests/test_dialect_timm.py",
                                      "tests/test_mut_lowering.py", "-k", "not live"],
    # a repeat's real period and shift: the lowering's refusals and the values on numpy / plain Python (the
    # emitted jax modules of that file compile: left to the full suite)
    "schedspec/lowering/cycles.py": ["tests/test_real_period.py", "tests/test_mut_lowering.py", "-k",
                                     "not jax and not emitted"],
    "schedspec/lowering/lowerer.py": ["tests/test_language.py", "tests/test_units_positions.py",
                                      "tests/test_mut_units.py", "tests/test_robust.py", "tests/test_mut_lowering.py",
                                      "-k", "test_language or test_units_positions or test_mut_units"
                                      " or (test_robust and (overflow or jump)) or test_mut_lowering"],
    # the emitted source run on formulas.py's numpy and plain-Python namespaces (no jax compilation, no
    # subprocess), and the emitted text of every example (snapshots: comments, docstrings, layout); the emitted
    # modules of tests/test_emit.py run on jax (35 s a surviving mutant on 2 shared cores)
    # (test_a_new_kind_needs_only_a_model_a_formula_and_a_row runs a copy of the package in a subprocess, which
    # fails under mutmut's stats run: left to the full suite, as for _compile.py)
    "schedspec/_emit/_codegen.py": ["tests/test_kinds.py", "tests/test_snapshots.py", "tests/test_mut_compile.py",
                                    "-k", "not a_new_kind"],
    # the scheduler's own tests without the slow ones (random specs, every example, subprocesses, emitted modules,
    # the resume orders and group permutations of tests/test_torch_groups_resume.py: 1 to 2.5 s each, 8 s of the
    # 16 s the selection took; the Keras import of test_a_bool_...); and the location of get_lr's warning, which
    # mutmut's trampoline (one more frame between the caller and get_lr) moves)
    "adapters/_torch_lr.py": ["tests/test_adapters_torch.py", "tests/test_torch_groups_resume.py",
                              "tests/test_mut_torch_lr.py", "-k",
                              "(test_adapters_torch and not random and not examples and not never_imports"
                              " and not missing_torch) or (test_torch_groups_resume and not emitted and not cli"
                              " and not resume_is_exact_in_every_order and not orders_against_native and not hyperparameters)"
                              " or (test_mut_torch_lr and not a_bool and not warns_at_the_line)"],
    # to_torch, the timm loop's scheduler and the param-group matching: timm's loop on the tiny model (not the
    # emitted modules), the torch tests of the hyperparameters and groups (not optax or Keras), the group tests of
    # the resume file without the emitted modules, the CLI and the 1 to 2.5 s orders, and tests/test_mut_torch.py
    "adapters/torch.py": ["tests/test_mut_torch.py", "tests/test_timm.py", "tests/test_hparams_groups.py",
                          "tests/test_torch_groups_resume.py", "-k",
                          "test_mut_torch or (test_timm and not emitted) or (test_hparams_groups and torch"
                          " and not plateau_report_once) or (test_torch_groups_resume and not emitted and not cli"
                          " and not resume_is_exact_in_every_order and not orders_against_native"
                          " and not documents_the_rule and not every_permutation)"],
    # the evaluator: evaluate / to_jax / evaluate_numpy / evaluate_host against the reference, the var shortcut
    # (tests/test_perf_vars.py), the host path of the plots and the plateau's reports. Left to the full suite: the
    # random specs and the torch parity of tests/test_evaluate.py (3 to 5 s each), the plot files and the native
    # loops of the plateau tests, and (once `_jax_metrics`, `to_jax` and the helpers before `evaluate` were decided
    # with them, a surviving mutant of `evaluate` then cost 50 s) the grad, jit/vmap and large-k tests; the
    # padding of the sharded path runs only in tests/test_sharding.py's subprocesses (four virtual devices), which
    # mutmut's coverage cannot see: its mutants are run by hand with that test
    "schedspec/evaluator.py": ["tests/test_mut_evaluator.py", "tests/test_evaluate.py", "tests/test_perf_vars.py",
                               "tests/test_perf_plot.py", "tests/test_plateau.py", "-k",
                               "(test_evaluate and not random and not matches_torch and not native and not grad"
                               " and not large_k and not jit_vmap_agree and not every_form)"
                               " or test_perf_vars or (test_perf_plot and not png and not terminal and not legends"
                               " and not examples) or (test_plateau and not native and not optax and not keras"
                               " and not torch and not jit_vmap_grad)"
                               " or test_mut_evaluator"],
    # the emitter's shared part (headers, comments, imports, entry points, the plateau and group entries): the
    # emitted text of every example for every target (snapshots), the refusals and the strings that must never
    # become code (tests/test_emit.py, tests/test_emit_plateau.py). Left to the full suite: the emitted modules run
    # against native schedulers, on random specs and every example (a jax compilation each: a minute a survivor)
    "schedspec/_emit/__init__.py": ["tests/test_snapshots.py", "tests/test_emit.py", "tests/test_emit_plateau.py",
                                    "tests/test_mut_emit.py", "-k",
                                    "test_snapshots or (test_emit and not test_emit_plateau and not random and not examples and not cli"
                                    " and not native and not formatted and not every_kind and not optimizers_apply)"
                                    " or (test_emit_plateau and (refuse or strings or structures or report_before))"
                                    " or test_mut_emit"],
    # the optax adapter: to_optax, inject (plateaus in the optimizer state), report, current_lr, multi_transform,
    # and flax.nnx's optimizer as the tests mirror it (its Variable wrappers, without importing flax). Left to the
    # full suite: the native optax schedules (one compilation each), the fresh-process pickle (a subprocess) and
    # flax itself. (A -k keyword matches any node's name: "test_plateau" alone would select
    # test_adapters_optax.py::test_plateau_state_..., so the plateau file's optax tests are named in full.)
    "adapters/optax.py": ["tests/test_adapters_optax.py", "tests/test_optax_current_lr.py", "tests/test_plateau.py",
                          "tests/test_mut_optax.py", "tests/test_hparams_groups.py", "-k",
                          "not matches_native_optax and not fresh_process and not (flax and not mirror)"
                          " and (test_adapters_optax or test_optax_current_lr or test_mut_optax"
                          " or optax_inject_matches_torch or optax_composed_per_step or one_groups_schedule)"],
    # the Keras adapter: to_keras, the Schedule (its call, config, plateau variables and reports), the callback in
    # real model.fit runs (tests/test_keras_fit.py, a second each), optimizer() and the plateau optimizer classes.
    # Left to the full suite: Keras' native schedules, the fresh-process reloads and the torch backend (subprocesses)
    "adapters/keras.py": ["tests/test_adapters_keras.py", "tests/test_keras_fit.py", "tests/test_plateau.py",
                          "tests/test_mut_keras.py", "-k", "not native_keras and not fresh_process and not torch_backend"
                          " and (test_adapters_keras or test_keras_fit or keras_callback or keras_composed"
                          " or test_mut_keras)"],
    # the Trainer adapters: real (tiny) Lightning and HF Trainer runs, a fraction of a second each, and the verify
    # runs over their logs; the facade under them (its LRScheduler surface and checkpoint state) is reached by both
    "adapters/lightning.py": ["tests/test_lightning.py", "tests/test_verify.py", "tests/test_mut_lightning.py", "-k",
                              "test_lightning or lightning_logs or test_mut_lightning"],
    "adapters/transformers.py": ["tests/test_transformers.py", "tests/test_verify.py", "tests/test_mut_transformers.py",
                                 "-k", "test_transformers or hf_trainer_logs or test_mut_transformers"],
    "adapters/_facade.py": ["tests/test_lightning.py", "tests/test_transformers.py", "tests/test_mut_transformers.py",
                            "tests/test_mut_lightning.py"],
    # the emitted torch module's generator (`_select`, `_usage`, `_dict`, `_name`, `module`): the emitted text of every
    # example (snapshots: comments, tables, flags) and the emitted modules run under torch (groups, refusals,
    # strings never code); its template is one string literal, which mutmut does not mutate inside
    "schedspec/_emit/_torch.py": ["tests/test_snapshots.py", "tests/test_torch_groups_resume.py", "tests/test_emit.py",
                                  "-k", "(test_snapshots and torch) or (test_torch_groups_resume and emitted and not cli"
                                  " and not every_order and not permutation and not orders_against)"
                                  " or (test_emit and torch and not cli)"],
}

# mutmut's CPU-time limit per mutant is (estimated test time + constant) * 5 * 2 s, and a worker's CPU time
# includes importing the mutated package and its test modules: importing torch (the torch adapter's tests) took
# more than the 20 s of the default constant here, so every mutant "timed out"; eager jax and keras.ops compile
# each operation once per worker (backends.py)
TIMEOUT_CONSTANT: dict[str, float] = {"adapters/_torch_lr.py": 12.0, "adapters/torch.py": 12.0,
                                      "schedspec/evaluator.py": 12.0, "schedspec/_emit/__init__.py": 12.0,
                                      "adapters/optax.py": 12.0, "adapters/keras.py": 12.0,
                                      "schedspec/backends.py": 12.0, "schedspec/_emit/_torch.py": 12.0,
                                      "adapters/lightning.py": 12.0, "adapters/transformers.py": 12.0,
                                      "adapters/_facade.py": 12.0}

COPY = ["schedspec", "adapters", "tests", "examples", "schemas", "docs", "README.md", "pyproject.toml"]


def _target(module: str) -> str:
    """The path mutmut mutates: an adapter is mutated where it is imported from, ``schedspec/adapters/...`` (the
    package installs ``adapters/`` as ``schedspec.adapters``; mutmut names a mutant after its file's path, and a
    mutant of ``adapters/x.py`` recorded as ``schedspec.adapters.x`` would match no key)."""
    return "schedspec/" + module if module.startswith("adapters/") else module


def _config(module: str) -> str:
    sel = SELECTIONS[module]
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["schedspec"]\n'
        f"only_mutate = [{json.dumps(_target(module))}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(sel)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore::RuntimeWarning:os"]\n'
        'also_copy = ["examples", "schemas", "docs", "README.md", "adapters"]\n'
        "mutate_only_covered_lines = false\n"
        # mutmut's CPU-time limit is (estimated test time + constant) * multiplier * 2: with the defaults of 15
        # and a constant of 20 a looping mutant (a bisection that never ends) held a worker for 5 minutes
        f"timeout_constant = {TIMEOUT_CONSTANT.get(module, 2.0)}\n"
        "timeout_multiplier = 5.0\n"
        # jax and XLA start threads: a worker forked from a process that ran them can deadlock; the fork server
        # only collects the tests, so it has run no jax computation when it forks a worker
        'process_isolation = "forkserver"\n'
    )


def _prepare(module: str) -> Path:
    work = WORK / module.replace("/", "__")
    if not (work / "pyproject.toml").exists():
        work.mkdir(parents=True, exist_ok=True)
        (work / "pyproject.toml").write_text("")
        for name in COPY:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc"))
            else:
                shutil.copy2(src, work / name)
    # the configuration follows this script: when the selection changed, the recorded test coverage is stale
    pyproject = (ROOT / "pyproject.toml").read_text() + _config(module)
    if (work / "pyproject.toml").read_text() != pyproject:
        (work / "pyproject.toml").write_text(pyproject)
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    # schedspec/adapters is a symlink to ../adapters, which mutmut does not follow: to mutate an adapter, the
    # scratch copy holds the adapters as a real schedspec/adapters folder (mutmut copies it to mutants/); else
    # they are copied to mutants/ by hand
    if module.startswith("adapters/"):
        inner = work / "schedspec" / "adapters"
        if inner.is_symlink():
            inner.unlink()
            shutil.copytree(ROOT / "adapters", inner, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        mutants = work / "mutants" / "schedspec"
        mutants.mkdir(parents=True, exist_ok=True)
        link = mutants / "adapters"
        if not link.exists() and not link.is_symlink():
            shutil.copytree(ROOT / "adapters", link, ignore=shutil.ignore_patterns("__pycache__"))
    # the newest sources of every OTHER module (a fix elsewhere, with its regression test, must not fail the
    # selection's clean run), in the scratch copy and in mutants/ (the mutated module is mutmut's own business)
    target = _target(module)
    for src in sorted((ROOT / "schedspec").rglob("*.py")):
        rel = src.relative_to(ROOT)
        if str(rel) == target or "adapters" in rel.parts:
            continue
        for dst in (work / rel, work / "mutants" / rel):
            if dst.parent.is_dir() and (not dst.exists() or dst.read_bytes() != src.read_bytes()):
                shutil.copy2(src, dst)
    # the newest source of the mutated module itself: mutmut sees it is newer than its mutants, mutates it again
    # and forgets the results of the functions whose text changed (it keeps a hash per function); the others keep
    # theirs, so a module changed since its run is re-measured by running the same command again
    src, dst = ROOT / target, work / target
    if dst.exists() and dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)  # a new mtime (copy2 would keep the source's, maybe older than the mutants)
    # the newest tests (test files change while mutants are being killed)
    shutil.copytree(ROOT / "tests", work / "tests", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc"))
    shutil.copytree(ROOT / "tests", work / "mutants" / "tests", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc"))
    return work


STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def report(module: str) -> dict:
    work = WORK / module.replace("/", "__")
    meta = work / "mutants" / (_target(module) + ".meta")
    if not meta.exists():
        print(f"{module}: not run yet")
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    counts: dict[str, int] = {}
    for name, code in sorted(codes.items()):
        status = STATUS.get(code, f"suspicious({code})")
        counts[status] = counts.get(status, 0) + 1
        if status != "killed":
            print(f"    {status:12s} {name}")
    total = len(codes)
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    print(f"{module}: killed {killed}/{total} ({100 * killed / max(total, 1):.1f}%)  {counts}")
    return {"killed": killed, "total": total, **counts}


def run(module: str, children: int, names: list[str] | None = None) -> int:
    work = _prepare(module)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH", "CI")}
    env["KERAS_BACKEND"] = "jax"
    env["OMP_NUM_THREADS"] = "1"  # one thread per worker: 2 shared cores (idle OpenMP threads also spin on CPU time)
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).parent / "mutmut")
    cmd = ["nice", "-n", "15", mutmut, "run", "--max-children", str(children), *(names or [])]
    print("+", " ".join(cmd), f"  (in {work})", flush=True)
    return subprocess.call(cmd, cwd=work, env=env)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("module", nargs="?")
    p.add_argument("--report", action="store_true", help="only print the score and survivors of the last run")
    p.add_argument("--list", action="store_true")
    p.add_argument("--children", type=int, default=2, help="parallel mutant workers (default 2)")
    p.add_argument("--fresh", action="store_true", help="forget previous results of this module")
    p.add_argument("--survivors", action="store_true",
                   help="run again only the mutants not killed: survivors and those no test reached (after new tests)")
    p.add_argument("--tests", nargs="+", metavar="PYTEST_ARG",
                   help="this run's test selection instead of the module's (e.g. --survivors --tests "
                        "tests/test_mut_x.py: the survivors against the tests written for them; a subset of the "
                        "selection can only kill, never revive, a mutant that survived the whole selection, but a "
                        "mutant not run yet that survives a subset is undecided: run it with the whole selection)")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="run again only these mutants (mutmut names or globs, e.g. '*load_state_dict__mutmut_63')")
    a = p.parse_args()
    if a.list or not a.module:
        for m, sel in SELECTIONS.items():
            print(f"{m}: pytest {' '.join(sel)}")
        return 0
    if a.module not in SELECTIONS:
        p.error(f"unknown module {a.module!r}; one of {', '.join(SELECTIONS)}")
    if a.tests:
        SELECTIONS[a.module] = a.tests
    if a.fresh:
        shutil.rmtree(WORK / a.module.replace("/", "__"), ignore_errors=True)
    if not a.report:
        names = None
        if a.only or a.survivors:
            # mutmut records once which tests reach which function: record it again, with the tests written since
            (WORK / a.module.replace("/", "__") / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        if a.only:
            names = a.only
        elif a.survivors:
            meta = WORK / a.module.replace("/", "__") / "mutants" / (_target(a.module) + ".meta")
            # survived (0), reached by no selected test (5, 33), and not run yet (an interrupted run): a new test
            # file in the selection may reach them
            names = [n for n, c in json.loads(meta.read_text())["exit_code_by_key"].items() if c in (0, 5, 33, None)]
            if not names:
                print("no survivors")
        rc = run(a.module, a.children, names)
        if rc:
            print(f"mutmut exited with {rc}")
    report(a.module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
