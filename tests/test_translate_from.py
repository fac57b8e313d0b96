"""``schedspec.from_mmengine`` / ``from_detectron2`` and ``schedspec translate --from``: the libraries' own config
files (examples/frameworks/: mmdet ``schedule_1x``, detectron2 ``Base-RCNN-FPN`` through its ``_BASE_`` chain) read as
data, plotted, and checked against the libraries themselves; every bad input positioned in the input file."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedspec
from schedspec.cli import main

try:
    from .helpers import assert_f64
    from .test_dialect_mmengine_detectron2 import detectron2_values, mmengine_values
except ImportError:
    from helpers import assert_f64
    from test_dialect_mmengine_detectron2 import detectron2_values, mmengine_values

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "examples" / "frameworks"
SCHEDULE_1X = FW / "mmdet" / "schedule_1x.yaml"
FASTER_RCNN = FW / "detectron2" / "COCO-Detection" / "faster_rcnn_R_50_FPN_1x.yaml"
L = 7330  # len(train_dataloader) of COCO train2017 at 16 images per batch (as in tests/vectors)


def _plot(spec, out: Path, end: int) -> None:
    """Plot over twice the schedule to ``out`` (a temp file); the figure's line holds the evaluated values."""
    ax = schedspec.plot(spec, at=f"0:{end}:{end // 500}", dtype="float64")
    ax.figure.savefig(out)
    assert out.stat().st_size > 0
    x, y = ax.lines[0].get_data()
    assert_f64(np.asarray(y, np.float64), schedspec.evaluate(spec, np.asarray(x, np.int64), dtype="float64"))
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def _translate(capsys, *argv) -> schedspec.Spec:
    assert main(["translate", *map(str, argv)]) == 0
    return schedspec.loads(capsys.readouterr().out)


def test_mmdet_schedule_1x_as_data_equals_mmengine_and_the_verbatim_py(capsys, tmp_path):
    spec = _translate(capsys, "--from", "mmengine", SCHEDULE_1X, "--steps-per-epoch", L)
    assert spec.doc.data["lr"]["kind"] == "mmengine.param_scheduler"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mmengine.config import Config

        cfg = Config.fromfile(str(FW / "mmdet" / "schedule_1x.py")).to_dict()
    # the .yaml is the data of the verbatim .py
    import yaml

    data = yaml.safe_load(SCHEDULE_1X.read_text())
    assert data["param_scheduler"] == cfg["param_scheduler"] and data["train_cfg"] == cfg["train_cfg"]
    # the .py (mmengine executes it) gives the same spec
    assert _translate(capsys, "--from", "mmengine", FW / "mmdet" / "schedule_1x.py", "--steps-per-epoch", L
                      ).fingerprint == spec.fingerprint  # fmt: skip
    # against MMEngine itself, over twice the schedule (a short epoch keeps the real run cheap: same config)
    short = schedspec.from_mmengine(cfg, steps_per_epoch=60)
    ref = mmengine_values(cfg["param_scheduler"], lr=0.02, epoch_length=60, max_epochs=12, n=2 * 12 * 60 + 1)
    assert_f64(schedspec.evaluate(short, np.arange(len(ref)), dtype="float64"), ref, "schedule_1x")
    ks = [0, 498, 499, 500, 8 * L - 1, 8 * L, 11 * L, 24 * L]
    vec = next(c for c in json.loads((ROOT / "tests/vectors/mmengine.json").read_text())
               if c["id"] == "mmengine.mmdet.schedule_1x")  # fmt: skip
    want = dict(zip(vec["k"], vec["lr"], strict=True))
    assert_f64(schedspec.evaluate(spec, [k for k in ks if k in want], dtype="float64"), [want[k] for k in ks if k in want])
    _plot(spec, tmp_path / "schedule_1x.png", 2 * 12 * L)


def test_detectron2_base_rcnn_fpn_through_its_base_chain_equals_fvcore(capsys, tmp_path):
    spec = _translate(capsys, "--from", "detectron2", FASTER_RCNN)
    assert spec.doc.data["lr"] == {"kind": "detectron2.SOLVER", "BASE_LR": 0.02, "STEPS": [60000, 80000],
                                   "MAX_ITER": 90000}  # fmt: skip
    ref = detectron2_values({"BASE_LR": 0.02, "STEPS": [60000, 80000], "MAX_ITER": 90000}, 90000)
    assert_f64(schedspec.evaluate(spec, np.arange(90000), dtype="float64"), ref, "Base-RCNN-FPN")
    neutral = _translate(capsys, "--from", "detectron2", FASTER_RCNN, "--to-neutral")
    assert neutral.fingerprint == spec.fingerprint and "detectron2" not in json.dumps(neutral.doc.data["lr"])
    _plot(spec, tmp_path / "rcnn.png", 2 * 90000)


def test_from_detectron2_reads_a_cfgnode_and_decodes_literals_like_detectron2():
    from fvcore.common.config import CfgNode

    cfg = CfgNode({"SOLVER": CfgNode({"BASE_LR": 0.02, "STEPS": (60000, 80000), "MAX_ITER": 90000,
                                      "IMS_PER_BATCH": 16})})  # fmt: skip
    a = schedspec.from_detectron2(cfg)
    b = schedspec.from_detectron2({"SOLVER": {"BASE_LR": 0.02, "STEPS": "(60000, 80000)", "MAX_ITER": 90000}})
    assert a.fingerprint == b.fingerprint
    assert "IMS_PER_BATCH" in a.doc.data["description"]


def test_from_mmengine_takes_the_list_with_train_cfg():
    scheds = [{"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "begin": 0, "end": 500},
              {"type": "MultiStepLR", "milestones": [8, 11]}]  # fmt: skip
    spec = schedspec.from_mmengine(scheds, train_cfg={"type": "EpochBasedTrainLoop", "max_epochs": 12}, lr=0.02,
                                   steps_per_epoch=100)  # fmt: skip
    ref = mmengine_values(scheds, lr=0.02, epoch_length=100, max_epochs=12, n=2500)
    assert_f64(schedspec.evaluate(spec, np.arange(2500), dtype="float64"), ref)


def _bad(tmp_path, capsys, name, text, *argv) -> str:
    path = tmp_path / name
    path.write_text(text)
    assert main(["translate", *argv, str(path)]) != 0
    return capsys.readouterr().err


@pytest.mark.parametrize(("name", "text", "lib", "expected"), [
    ("a.yaml", "SOLVER:\n  BASE_LRR: 0.1\n", "detectron2",
     "a.yaml:2:3: detectron2 raises 'Non-existent config key: SOLVER.BASE_LRR'; did you mean 'BASE_LR'?"),
    ("a.yaml", "SOLVER:\n  STEPS: (200, 100)\n  MAX_ITER: 300\n", "detectron2",
     "a.yaml:2:10: fvcore raises 'Milestone must be smaller than start epoch"),
    ("a.yaml", "SOLVER:\n  LR_SCHEDULER_NAME: WarmupCosine\n", "detectron2",
     "a.yaml:2:22: detectron2 raises ValueError('Unknown LR scheduler: WarmupCosine'); did you mean"),
    ("a.yaml", "_BASE_: a.yaml\nSOLVER: {BASE_LR: 0.1}\n", "detectron2", "a.yaml:1:9: `_BASE_` makes a cycle"),
    ("a.yaml", "_BASE_: missing.yaml\n", "detectron2", "a.yaml:1:9: `_BASE_` 'missing.yaml': cannot read the file"),
    ("m.json", '{"param_scheduler": [{"type": "CosineLR", "by_epoch": false}], "optimizer": {"lr": 0.1}}',
     "mmengine", "m.json:1:31: unknown MMEngine scheduler type 'CosineLR'; did you mean"),
    ("m.yaml", "optimizer: {lr: 0.1}\nparam_scheduler:\n- {type: LinearLR, start_factr: 0.1, by_epoch: false}\n",
     "mmengine", "m.yaml:3:20: unknown argument `start_factr` for MMEngine's LinearLR; did you mean 'start_factor'?"),
    ("m.yaml", "param_scheduler:\n- {type: LinearLR}\n", "mmengine", "m.yaml:1:1: no lr"),
    ("m.yaml", "optimizer: {lr: 0.1}\nparam_scheduler:\n- {type: StepLR, step_size: 2}\n", "mmengine",
     "m.yaml:3:3: mmengine.param_scheduler: StepLR is stepped at epoch ends"),
])  # fmt: skip
def test_bad_config_files_are_refused_at_their_line_and_column(tmp_path, capsys, name, text, lib, expected):
    err = _bad(tmp_path, capsys, name, text, "--from", lib)
    assert expected in err, err
    assert "Traceback" not in err


def _chain(tmp_path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


BASE = "MODEL:\n  MASK_ON: false\nSOLVER:\n  CHECKPOINT_PERIOD: 5000\n  {line}\n  MAX_ITER: 300\n"
# a fault written in a _BASE_ file, as it is written there (line 5 of BASE), and where it must be reported
BASE_FAULTS = [
    ("STEPZ: (100, 200)", "5:3", "detectron2 raises 'Non-existent config key: SOLVER.STEPZ'; did you mean 'STEPS'?"),
    ("STEPS: (200, 100)", "5:10", "fvcore raises 'Milestone must be smaller than start epoch"),
    ("BASE_LR: -1.0", "5:12", "`BASE_LR`: must not be negative"),
    ("LR_SCHEDULER_NAME: WarmupCosine", "5:22", "Unknown LR scheduler: WarmupCosine"),
    ("WARMUP_METHOD: lineer", "5:18", "lineer"),
]


@pytest.mark.parametrize(("line", "where", "message"), BASE_FAULTS)
@pytest.mark.parametrize("levels", [2, 3])
def test_a_fault_inherited_through_base_is_reported_in_the_base_file_where_it_is_written(
    tmp_path, capsys, levels, line, where, message
):
    # levels 2: top -> configs/base.yaml; levels 3: top -> configs/mid.yaml -> configs/common/base.yaml
    if levels == 2:
        base = tmp_path / "configs" / "base.yaml"
        _chain(tmp_path, {"configs/base.yaml": BASE.format(line=line),
                          "top.yaml": "_BASE_: configs/base.yaml\nSOLVER:\n  WARMUP_ITERS: 10\n"})  # fmt: skip
    else:
        base = tmp_path / "configs" / "common" / "base.yaml"
        _chain(tmp_path, {"configs/common/base.yaml": BASE.format(line=line),
                          "configs/mid.yaml": "_BASE_: common/base.yaml\nSOLVER:\n  IMS_PER_BATCH: 8\n",
                          "top.yaml": "_BASE_: configs/mid.yaml\nSOLVER:\n  WARMUP_ITERS: 10\n"})  # fmt: skip
    assert main(["translate", "--from", "detectron2", str(tmp_path / "top.yaml")]) != 0
    err = capsys.readouterr().err
    assert f"{base}:{where}: " in err and message in err, err
    assert "top.yaml" not in err and "mid.yaml" not in err, err
    assert "Traceback" not in err


def test_a_base_value_overridden_on_top_is_reported_where_the_winner_is_written(tmp_path, capsys):
    # the base writes a bad STEPS, the middle file a bad BASE_LR over a good one, the top file good STEPS over it
    _chain(tmp_path, {"b/base.yaml": "SOLVER:\n  STEPS: (200, 100)\n  BASE_LR: 0.1\n  MAX_ITER: 300\n",
                      "b/mid.yaml": "_BASE_: base.yaml\nSOLVER:\n  BASE_LR: -2.0\n",
                      "top.yaml": "_BASE_: b/mid.yaml\nSOLVER:\n  STEPS: (100, 200)\n"})  # fmt: skip
    assert main(["translate", "--from", "detectron2", str(tmp_path / "top.yaml")]) != 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'b' / 'mid.yaml'}:3:12: `BASE_LR`: must not be negative" in err, err
    assert "Milestone" not in err and "base.yaml" not in err, err
    # the good chain translates, to the merged values, and a value of the top file is not moved
    (tmp_path / "b" / "mid.yaml").write_text("_BASE_: base.yaml\nSOLVER:\n  BASE_LR: 0.5\n")
    from schedspec.dialects.configs import detectron2_data, read_detectron2
    from schedspec.spec import load_mapped

    src, cfg = read_detectron2(str(tmp_path / "top.yaml"))
    spec = load_mapped(*detectron2_data(cfg, src=src), src)
    assert spec.doc.data["lr"]["STEPS"] == [100, 200] and spec.doc.data["lr"]["BASE_LR"] == 0.5
    assert spec.doc.where(("lr", "STEPS")) == (3, 10) and spec.doc.file_of(("lr", "STEPS")) == str(tmp_path / "top.yaml")
    assert spec.doc.file_of(("lr", "MAX_ITER")).endswith("base.yaml") and spec.doc.where(("lr", "MAX_ITER")) == (4, 13)


def test_a_fault_in_a_base_file_itself_is_reported_there(tmp_path, capsys):
    _chain(tmp_path, {"b.yaml": "SOLVER:\n  BASE_LR: 0.1\n  BASE_LR: 0.2\n", "top.yaml": "_BASE_: b.yaml\n"})
    assert main(["translate", "--from", "detectron2", str(tmp_path / "top.yaml")]) != 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'b.yaml'}:3:3: duplicate key 'BASE_LR'" in err, err


def test_an_mmengine_base_is_refused_at_the_top_files_base_line(tmp_path, capsys):
    # MMEngine `_base_` files are not resolved (its `_delete_` and `{{_base_.x}}` are mmengine's own): the refusal
    # points at the `_base_` that asks for them, and says how to resolve them
    err = _bad(tmp_path, capsys, "m.yaml", "optimizer: {lr: 0.1}\n_base_: [base.yaml]\nparam_scheduler:\n"
               "- {type: LinearLR, by_epoch: false}\n", "--from", "mmengine")  # fmt: skip
    assert "m.yaml:2:9: this config inherits from `_base_` files: resolve them first with mmengine" in err, err


def test_an_mmengine_py_config_is_never_executed_without_mmengine(tmp_path, capsys, monkeypatch):
    import sys

    marker = tmp_path / "executed"
    path = tmp_path / "cfg.py"
    path.write_text(f"open({str(marker)!r}, 'w').write('x')\nparam_scheduler = []\n")
    monkeypatch.setitem(sys.modules, "mmengine.config", None)  # as if mmengine were not installed
    assert main(["translate", "--from", "mmengine", str(path)]) == 2
    err = capsys.readouterr().err
    assert "only mmengine reads" in err and "never executes" in err
    assert not marker.exists()


def test_transformers_and_timm_go_through_the_registry(tmp_path, capsys):
    from schedspec.cli.translate import IMPORTERS, LIBRARIES

    assert set(IMPORTERS) == set(LIBRARIES) == {"transformers", "timm", "mmengine", "detectron2"}
    path = tmp_path / "training_args.json"
    path.write_text('{"lr_scheduler_type": "linear", "learning_rate": 5e-05, "max_steps": 100}')
    code = main(["translate", "--from", "transformers", str(path)])
    err = capsys.readouterr().err
    if hasattr(schedspec, "from_transformers"):
        assert code == 0, err
    else:
        assert code == 2 and "not available yet" in err


HF_COSINE = '{\n  "lr_scheduler_type": "cosine",\n  "max_steps": 100,\n  "lr_scheduler_kwargs": {"num_cycle": 0.5}\n}\n'
TIMM_ARGS = "sched: cosine\nepochs: 10\nlr: 0.1\n"


@pytest.mark.parametrize(("name", "text", "lib", "expected"), [
    ("t.json", '{"lr_scheduler_type": "cosin", "max_steps": 100}', "transformers",
     "t.json:1:23: 'cosin' is not a valid SchedulerType; did you mean 'cosine'? (HF's types: linear, cosine,"),
    ("t.json", '{"lr_scheduler_typ": "cosine", "max_steps": 100}', "transformers",
     "t.json:1:2: unknown TrainingArguments field 'lr_scheduler_typ'; did you mean 'lr_scheduler_type'?"),
    ("t.json", HF_COSINE, "transformers",
     "t.json:4:27: get_scheduler('cosine') got an unexpected keyword argument 'num_cycle'; did you mean "
     "'num_cycles'? (its keywords: num_cycles)"),
    ("t.json", '{"max_steps": 100, "lr_scheduler_kwargs": "{\\"num_cycle\\": 1}", "lr_scheduler_type": "cosine"}',
     "transformers", "t.json:1:20: get_scheduler('cosine') got an unexpected keyword argument 'num_cycle'"),
    ("t.json", '{"max_steps": 100, "warmup_steps": -3}', "transformers",
     't.json:1:36: HF: "Got warmup_steps = -3, Expected value warmup_steps >= 0"'),
    ("t.json", '{"max_steps": 100,\n "warmup_ratio": 1.5}', "transformers",
     't.json:2:18: HF: "warmup_ratio must lie in range [0,1]"'),
    ("t.json", '{"max_steps": 100, "learning_rate": "abc"}', "transformers",
     "t.json:1:37: learning_rate must be a number (got 'abc'): TrainingArguments declares it a number"),
    ("t.json", '{"max_steps": 0}', "transformers",
     "t.json:1:15: max_steps <= 0: HF trains num_train_epochs x the dataloader's updates per epoch"),
    ("t.json", '{"max_steps": 100, "lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": {"power": -1}}',
     "transformers", "t.json:1:88: `power`: must be > 0 (got -1)"),
    ("args.yaml", "sched: cosin\nepochs: 10\nlr: 0.1\n", "timm",
     "args.yaml:1:8: --sched 'cosin': schedspec reads cosine, tanh, poly, step, multistep from args.yaml; did you "
     "mean 'cosine'?"),
    ("args.yaml", TIMM_ARGS + "warmup_epoch: 3\n", "timm",
     "args.yaml:4:1: unknown timm train.py argument 'warmup_epoch'; did you mean 'warmup_epochs'?"),
    ("args.yaml", "sched: cosine\nepochs: ten\nlr: 0.1\n", "timm",
     "args.yaml:2:9: `epochs` must be an integer (got 'ten'), as timm's train.py parses it"),
    ("args.yaml", "sched: cosine\nepochs: 0\nlr: 0.1\n", "timm", "args.yaml:2:9: `t_initial`: must be > 0 (got 0)"),
    ("args.yaml", TIMM_ARGS + "min_lr: -1\n", "timm", "args.yaml:4:9: `lr_min`: must not be negative (got -1)"),
    ("args.yaml", "sched: step\nepochs: 10\nlr: 0.1\ndecay_rate: -1\n", "timm",
     "args.yaml:4:13: `decay_rate`: must be > 0 (got -1)"),
    ("args.yaml", TIMM_ARGS + "lr_noise: [0.5]\n", "timm",
     "args.yaml:4:11: lr_noise is set: timm's lr noise is seeded randomness, not a schedule"),
    ("args.yaml", "sched: cosine\nepochs: 10\nlr: null\n", "timm",
     "args.yaml:3:5: `lr: null`: timm's train.py then derives the lr from lr_base"),
    ("args.yaml", "sched: cosine\nepochs: 10\n", "timm", "args.yaml:1:1: args.yaml has no `lr`"),
    ("t.json", "[1]", "transformers", "t.json:1:1: a training_args.json is a JSON object of TrainingArguments fields "
     "(TrainingArguments.to_json_string()) (got a list)"),
    ("args.yaml", "cosine\n", "timm", "args.yaml:1:1: a timm args.yaml is a mapping of train.py's arguments (got the "
     "scalar 'cosine')"),
])  # fmt: skip
def test_bad_transformers_and_timm_files_are_refused_at_their_line_and_column(tmp_path, capsys, name, text, lib,
                                                                              expected):  # fmt: skip
    path, out = tmp_path / name, tmp_path / "out.yaml"
    path.write_text(text)
    assert main(["translate", "--from", lib, str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path / expected)), err
    assert not out.exists()


def test_hf_warmup_precedence_is_a_note_at_warmup_ratio(tmp_path, capsys):
    path, out = tmp_path / "t.json", tmp_path / "out.yaml"
    path.write_text('{"max_steps": 100,\n "warmup_steps": 5,\n "warmup_ratio": 0.2}')
    assert main(["translate", "--from", "transformers", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3:18: warmup_steps = 5 and warmup_ratio = 0.2 are both set: warmup_steps wins"), err
    assert err.rstrip().endswith("(note)")
    spec = schedspec.load(out)
    assert spec.doc.data["lr"]["num_warmup_steps"] == 5 and "warmup_steps wins" in spec.doc.data["description"]


def test_a_good_timm_args_yaml_translates(tmp_path, capsys):
    path = tmp_path / "args.yaml"
    path.write_text(TIMM_ARGS + "warmup_epochs: 2\nwarmup_lr: 0.001\nseed: 42\n")
    spec = _translate(capsys, "--from", "timm", path)
    assert spec.doc.data["lr"]["kind"] == "timm.cosine" and spec.doc.data["lr"]["t_initial"] == 10
    assert spec.doc.data["lr"]["warmup_t"] == 2 and spec.doc.data["lr"]["warmup_lr_init"] == 0.001


_HF_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.floats(-2, 3, allow_nan=False),
                       st.sampled_from(["cosine", "linear", "cosin", "steps", "epoch", "abc", "1.5", "{", "{}"]),
                       st.lists(st.integers(0, 9), max_size=2),
                       st.dictionaries(st.sampled_from(["num_cycles", "power", "num_cycle", "min_lr"]),
                                       st.one_of(st.integers(-1, 3), st.floats(-1, 3), st.text(max_size=3)),
                                       max_size=2))  # fmt: skip
_HF_KEYS = ["lr_scheduler_type", "learning_rate", "warmup_steps", "warmup_ratio", "max_steps", "num_train_epochs",
            "lr_scheduler_kwargs", "eval_strategy", "eval_steps", "metric_for_best_model", "lr_scheduler_typ"]
_TIMM_KEYS = ["sched", "epochs", "lr", "warmup_epochs", "warmup_lr", "min_lr", "lr_cycle_mul", "lr_cycle_decay",
              "lr_cycle_limit", "lr_k_decay", "decay_epochs", "decay_milestones", "decay_rate", "warmup_prefix",
              "cooldown_epochs", "lr_noise", "warmup_epoch"]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lib=st.sampled_from(["transformers", "timm"]), data=st.data())
def test_any_transformers_or_timm_file_is_translated_or_refused_at_a_line_and_column(tmp_path, capsys, lib, data):
    """Whatever a training_args.json / args.yaml holds: exit 0, or exit 1 with every line ``file:line:col: ...``
    and nothing written; never an internal error."""
    keys = _HF_KEYS if lib == "transformers" else _TIMM_KEYS
    values = _HF_VALUES if lib == "transformers" else _HF_VALUES.filter(lambda v: not isinstance(v, dict))
    cfg = data.draw(st.dictionaries(st.sampled_from(keys), values, max_size=6))
    if lib == "transformers":
        cfg.setdefault("max_steps", 100)
    else:
        cfg.setdefault("sched", "cosine")
    path, out = tmp_path / ("t.json" if lib == "transformers" else "args.yaml"), tmp_path / "out.yaml"
    out.unlink(missing_ok=True)
    path.write_text(json.dumps(cfg, indent=1))
    code = main(["translate", "--from", lib, str(path), "-o", str(out), "--steps-per-epoch", "7"]
                if lib == "transformers" else ["translate", "--from", lib, str(path), "-o", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code in (0, 1), err
    if code == 1:
        assert not out.exists()
        assert all(re.match(re.escape(str(path)) + r":\d+:\d+: \S", line) for line in err.splitlines()), err
    else:
        assert out.exists()
