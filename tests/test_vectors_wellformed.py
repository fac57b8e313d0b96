"""The framework reference vectors (tests/vectors/*.json) stay well-formed and tied to their real configs.

The vectors are produced by the libraries themselves (``tests/vectors/generate.py``, not run by CI). These tests
read only the committed files, with the standard library and PyYAML: every case has the documented fields, unique
ids, ascending k, finite float lr, coverage of at least twice the schedule (or up to the k where the library
itself raises), every declared boundary b recorded at b-1, b and b+1, and each real config file under
``tests/vectors/configs`` still matches the case built from it. Where the library is installed at the very version
a file records, the cheap cases are regenerated and must match exactly.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CONFIGS = VECTORS / "configs"
LIBRARIES = ("transformers", "timm", "mmengine", "detectron2")
REQUIRED = {"id": str, "library": str, "version": str, "api": str, "config": dict, "interval": str, "length": int,
            "boundaries": list, "notes": str, "k": list, "lr": list}
OPTIONAL = {"steps_per_epoch": int, "resolved": dict, "driver": str, "metrics": dict, "raises": dict, "source": dict,
            "config_file": str, "tokens_per_step": int}
DENSE_LIMIT = 400  # the generator records every k of a schedule whose 2x horizon is at most this
MAX_TOTAL_BYTES = 512 * 1024

# The kinds issue 11 names: each must have vectors.
HF_TYPES = {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
            "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
            "warmup_stable_decay"}
TIMM_CLASSES = {"CosineLRScheduler", "TanhLRScheduler", "StepLRScheduler", "MultiStepLRScheduler",
                "PolyLRScheduler", "PlateauLRScheduler"}
MM_TYPES = {"LinearLR", "ConstantLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "PolyLR",
            "OneCycleLR", "CosineRestartLR"}
D2_NAMES = {"WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"}


def load(lib):
    return json.loads((VECTORS / f"{lib}.json").read_text(encoding="utf-8"))


ALL = {lib: load(lib) for lib in LIBRARIES}
CASES = [c for lib in LIBRARIES for c in ALL[lib]]


def ids(cases):
    return [c["id"] for c in cases]


# ------------------------------------------------------------------------------------------------ structure
@pytest.mark.parametrize("lib", LIBRARIES)
def test_file_is_a_nonempty_list_of_cases_of_its_library(lib):
    cases = ALL[lib]
    assert isinstance(cases, list) and cases
    for c in cases:
        assert c["library"] == lib, c["id"]
        assert c["id"].startswith(f"{lib}."), c["id"]


def test_ids_are_unique_across_files():
    seen = {}
    for c in CASES:
        assert c["id"] not in seen, f"duplicate id {c['id']}"
        seen[c["id"]] = c


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_case_fields(c):
    for key, typ in REQUIRED.items():
        assert key in c, f"missing {key}"
        assert isinstance(c[key], typ) and not isinstance(c[key], bool), f"{key} is {type(c[key]).__name__}"
    unknown = set(c) - set(REQUIRED) - set(OPTIONAL)
    assert not unknown, f"unknown fields {sorted(unknown)}"
    for key, typ in OPTIONAL.items():
        if key in c:
            assert isinstance(c[key], typ) and not isinstance(c[key], bool), f"{key} is {type(c[key]).__name__}"
    assert c["version"].strip() and c["api"].strip() and c["notes"].strip()
    assert c["interval"] in ("step", "epoch")
    assert c["length"] > 0
    if "steps_per_epoch" in c:
        assert c["steps_per_epoch"] > 0
    if "tokens_per_step" in c:
        assert c["tokens_per_step"] > 0


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_k_ascending_and_lr_finite(c):
    k, lr = c["k"], c["lr"]
    assert len(k) == len(lr) >= 2
    assert all(isinstance(x, int) and not isinstance(x, bool) for x in k)
    assert k[0] == 0, "every case starts at the first update"
    assert all(a < b for a, b in zip(k, k[1:])), "k must be strictly ascending"
    assert k[-1] <= 2**31 - 1
    assert all(isinstance(v, float) for v in lr), "lr values are float64 (JSON numbers with a fraction or exponent)"
    assert all(math.isfinite(v) and v >= 0.0 for v in lr)


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_covers_twice_the_schedule_or_up_to_where_the_library_raises(c):
    k, length = c["k"], c["length"]
    if "raises" in c:
        r = c["raises"]
        assert set(r) == {"k", "error"} and isinstance(r["k"], int) and r["error"].strip()
        assert r["k"] == k[-1] + 1, "the recorded k stop just before the first k the library cannot compute"
        assert r["k"] >= length, "the library must compute every update of the schedule itself"
    else:
        assert k[-1] >= 2 * length, f"k stops at {k[-1]}, the schedule is {length} long"


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_boundaries_recorded_on_both_sides(c):
    b_list, ks = c["boundaries"], set(c["k"])
    assert b_list == sorted(set(b_list)) and all(isinstance(b, int) and b > 0 for b in b_list)
    for b in b_list:
        assert b <= c["k"][-1], f"boundary {b} beyond the recorded range"
        for x in (b - 1, b, b + 1):
            if x <= c["k"][-1]:
                assert x in ks, f"k = {x} (boundary {b}) not recorded"


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_short_schedules_are_recorded_at_every_k(c):
    horizon = min(2 * c["length"], c["k"][-1])
    if 2 * c["length"] <= DENSE_LIMIT:
        assert c["k"][: horizon + 1] == list(range(horizon + 1))


@pytest.mark.parametrize("c", [c for c in CASES if "metrics" in c], ids=ids([c for c in CASES if "metrics" in c]))
def test_plateau_cases_carry_enough_reports(c):
    m = c["metrics"]
    assert set(m) == {"name", "every", "values"} and m["name"].strip()
    assert isinstance(m["every"], int) and m["every"] > 0
    assert all(isinstance(v, float) and math.isfinite(v) for v in m["values"])
    # report j is fed after update (j+1)*every - 1: every report before the last recorded update is present
    assert len(m["values"]) >= c["k"][-1] // m["every"]


def test_files_stay_small():
    total = sum((VECTORS / f"{lib}.json").stat().st_size for lib in LIBRARIES)
    assert total <= MAX_TOTAL_BYTES, f"{total} bytes of vectors"


# ------------------------------------------------------------------------------------------------ coverage
def test_every_kind_of_issue_11_has_vectors():
    hf = {c["config"]["lr_scheduler_type"] for c in ALL["transformers"]}
    assert HF_TYPES <= hf, sorted(HF_TYPES - hf)
    timm = {c["api"].rsplit(".", 1)[-1] for c in ALL["timm"]} | {c["resolved"]["scheduler"] for c in ALL["timm"]
                                                                 if "resolved" in c}
    assert TIMM_CLASSES <= timm, sorted(TIMM_CLASSES - timm)
    assert any(c["config"].get("t_in_epochs") is False for c in ALL["timm"]), "a per-update timm case"
    mm = {s["type"] for c in ALL["mmengine"] for s in c["config"]["param_scheduler"]}
    assert MM_TYPES <= mm, sorted(MM_TYPES - mm)
    mm_keys = {key for c in ALL["mmengine"] for s in c["config"]["param_scheduler"] for key in s}
    assert {"begin", "end", "by_epoch", "convert_to_iter_based"} <= mm_keys
    assert any(len(c["config"]["param_scheduler"]) > 1 for c in ALL["mmengine"]), "overlapping windows"
    d2 = {c["config"]["SOLVER"].get("LR_SCHEDULER_NAME", "WarmupMultiStepLR") for c in ALL["detectron2"]}
    assert D2_NAMES <= d2, sorted(D2_NAMES - d2)


# ------------------------------------------------------------------------------------------------ real configs
def _py_literal(node):
    """Evaluate an MMEngine config expression without executing anything: literals, lists, tuples, dict(...)
    calls with keywords, unary minus and arithmetic between numbers."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_py_literal(e) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _py_literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_py_literal(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _py_literal(node.left), _py_literal(node.right)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b}
        return ops[type(node.op)]()
    raise ValueError(f"not a config literal: {ast.dump(node)}")


def _py_config(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for stmt in tree.body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, "only NAME = literal statements"
        out[stmt.targets[0].id] = _py_literal(stmt.value)
    return out


def _check_mmengine(c, path):
    cfg = _py_config(path)
    assert c["config"]["param_scheduler"] == cfg["param_scheduler"]
    assert c["config"]["lr"] == cfg["optim_wrapper"]["optimizer"]["lr"]
    assert c["config"]["train_cfg"]["max_epochs"] == cfg["train_cfg"]["max_epochs"]


def _check_detectron2(c, path):
    solver = yaml.safe_load(path.read_text())["SOLVER"]
    for key, v in solver.items():
        if isinstance(v, str) and v.startswith("("):
            v = list(ast.literal_eval(v))
        assert c["config"]["SOLVER"][key] == v, key


def _check_timm(c, path):
    args = yaml.safe_load(path.read_text())
    for key, v in args.items():
        assert c["config"][key] == v, key


def _check_hf_json(c, path):
    for key, v in json.loads(path.read_text()).items():
        assert c["config"][key] == v, key


def _check_smollm2(c, path):
    y = yaml.safe_load(path.read_text())
    s, t = y["optimizer"]["learning_rate_scheduler"], y["tokens"]
    cfg, kw = c["config"], c["config"]["lr_scheduler_kwargs"]
    assert cfg["learning_rate"] == s["learning_rate"] and cfg["warmup_steps"] == s["lr_warmup_steps"]
    assert cfg["max_steps"] == t["train_steps"] and kw["num_decay_steps"] == s["lr_decay_steps"]
    assert kw["num_stable_steps"] == s["lr_decay_starting_step"] - s["lr_warmup_steps"]
    assert kw["decay_type"] == s["lr_decay_style"] and kw["min_lr_ratio"] == s["min_decay_lr"]
    assert c["tokens_per_step"] == (y["parallelism"]["dp"] * t["micro_batch_size"]
                                    * t["batch_accumulation_per_replica"] * t["sequence_length"])


CHECKERS = {
    "mmdet_schedule_1x.py": _check_mmengine,
    "mmpretrain_imagenet_bs1024_adamw_swin.py": _check_mmengine,
    "detectron2_Base-RCNN-FPN_SOLVER.yaml": _check_detectron2,
    "timm_seresnet34_args.yaml": _check_timm,
    "timm_efficientnet_b2_args.yaml": _check_timm,
    "deit_main_args.yaml": _check_timm,
    "hf_run_clm_training_args.json": _check_hf_json,
    "smollm2_1.7B_lr_schedule.yaml": _check_smollm2,
}
WITH_FILE = [c for c in CASES if "config_file" in c]


@pytest.mark.parametrize("c", WITH_FILE, ids=ids(WITH_FILE))
def test_real_config_matches_its_case(c):
    path = ROOT / c["config_file"]
    assert path.parent == CONFIGS and path.is_file(), c["config_file"]
    assert {"repository", "path"} <= set(c["source"]), "a real config names its source"
    CHECKERS[path.name](c, path)


def test_every_config_file_is_used_and_its_source_named():
    sources = (CONFIGS / "SOURCES.md").read_text(encoding="utf-8")
    used = {Path(c["config_file"]).name for c in WITH_FILE}
    files = {p.name for p in CONFIGS.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    assert files == used == set(CHECKERS)
    for name in files:
        assert f"`{name}`" in sources, f"{name} is not listed in configs/SOURCES.md"
        text = (CONFIGS / name).read_text(encoding="utf-8")
        if not name.endswith(".json"):  # JSON has no comments: SOURCES.md is its sidecar
            first = text.split("\n", 1)[0]
            assert first.startswith("#") and ("/" in first or "Source" in first), f"{name} names no source"


# ------------------------------------------------------------------------------------------------ reproduction
def _installed(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


_REGENERATE = """
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
import generate
cases = getattr(generate, "gen_" + sys.argv[2])(subset=set(json.loads(sys.argv[3])))
with open(sys.argv[4], "w") as f:
    json.dump(cases, f)
"""


@pytest.mark.parametrize("lib", ["transformers", "mmengine"])
def test_cheap_cases_reproduce_with_the_installed_library(lib, tmp_path):
    """In a subprocess (the libraries stay out of this interpreter), the generator rebuilds every short case.

    With the recorded library version the rebuilt cases are identical; with another version the lrs must still agree
    within the float64 parity tolerance (``1e-12*peak + 1e-10*|v|``): an upstream change of semantics fails here.
    """
    recorded = {c["version"] for c in ALL[lib]}
    assert len(recorded) == 1
    installed = _installed(lib)
    if installed is None or _installed("torch") is None:
        pytest.skip(f"{lib} is not installed (the test extras install it; vectors are regenerated by generate.py)")
    cheap = [c for c in ALL[lib] if 2 * c["length"] <= DENSE_LIMIT]
    out = tmp_path / "fresh.json"
    subset = json.dumps([c["id"].split(".", 1)[1] for c in cheap])
    run = subprocess.run([sys.executable, "-c", _REGENERATE, str(VECTORS), lib, subset, str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    fresh = {c["id"]: c for c in json.loads(out.read_text())}
    assert set(fresh) == {c["id"] for c in cheap}
    for c in cheap:
        if installed == c["version"]:
            assert fresh[c["id"]] == c, f"{c['id']} no longer matches {lib} {c['version']}"
            continue
        got, want = fresh[c["id"]], c
        assert got["k"] == want["k"], f"{c['id']}: {lib} {installed} steps differently from {c['version']}"
        peak = max(abs(v) for v in want["lr"])
        for k, a, b in zip(want["k"], got["lr"], want["lr"]):
            assert abs(a - b) <= 1e-12 * peak + 1e-10 * abs(b), (
                f"{c['id']} at k={k}: {lib} {installed} gives {a!r}, the vectors ({c['version']}) {b!r}"
            )
