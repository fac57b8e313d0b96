"""schedspec.log_plan: the plan written to TensorBoard and read back with TensorBoard's own reader
(``EventAccumulator``): every schedule (groups included) as scalars at the right steps with the spec's values, the
exact boundaries included, at most ``points`` per schedule; the spec's YAML (which loads back to the same
fingerprint) and fingerprint as text; the plot as an image."""

from __future__ import annotations

import numpy as np
import pytest

import schedspec
from schedspec._logplan import plan_steps
from schedspec.evaluator import evaluate_numpy

pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


def read(directory) -> EventAccumulator:
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def log(tmp_path, spec, **kw):
    with SummaryWriter(str(tmp_path)) as writer:
        written = schedspec.log_plan(spec, writer, **kw)
    return written, read(tmp_path)


def scalars(acc, tag):
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def assert_float32_equal(values, ref):
    """TensorBoard stores float32: each value is the float32 nearest to the spec's float64 value."""
    assert np.array_equal(np.asarray(values, dtype=np.float32), np.asarray(ref, dtype=np.float64).astype(np.float32))


def test_resnet50_scalars_text_and_image(tmp_path):
    spec = schedspec.load("examples/resnet50.yaml")
    written, acc = log(tmp_path, spec, points=400)
    assert set(acc.Tags()["scalars"]) == {"plan/lr", "plan/momentum", "plan/weight_decay"}
    steps, values = scalars(acc, "plan/lr")
    assert written["plan/lr"] == len(steps) <= 400 and steps == sorted(set(steps))
    assert steps[0] == 0 and steps[-1] == 450450
    for b in (25025, 150150, 300300, 400400):  # the warmup's end and the milestones (epochs 30, 60, 80)
        assert b - 1 in steps and b in steps
    assert_float32_equal(values, evaluate_numpy(spec, np.asarray(steps), "lr"))
    i = steps.index(150150)
    assert values[i - 1] == np.float32(0.1) and values[i] == np.float32(0.01)  # the jump is a vertical edge
    yaml_text = acc.Tensors("plan/spec/text_summary")[0].tensor_proto.string_val[0].decode()
    assert schedspec.loads("\n".join(line[4:] for line in yaml_text.splitlines())).fingerprint == spec.fingerprint
    assert acc.Tensors("plan/fingerprint/text_summary")[0].tensor_proto.string_val[0].decode() == spec.fingerprint
    image = acc.Images("plan/plot")[0]
    assert image.encoded_image_string.startswith(b"\x89PNG") and image.width == 900 and image.height > 400


def test_groups_are_logged_with_their_own_schedules(tmp_path):
    spec = schedspec.load("examples/finetune-groups.yaml")
    _, acc = log(tmp_path, spec, points=200, image=False)
    assert {"plan/lr", "plan/weight_decay", "plan/backbone/lr", "plan/head/lr", "plan/head/weight_decay"} <= set(
        acc.Tags()["scalars"])  # fmt: skip
    for group in ("backbone", "head"):
        steps, values = scalars(acc, f"plan/{group}/lr")
        assert_float32_equal(values, evaluate_numpy(spec, np.asarray(steps), "lr", group=group))
    steps, _ = scalars(acc, "plan/head/lr")
    assert 1999 in steps and 2000 in steps  # the head's own phase boundary (2ep)
    assert acc.Tags()["images"] == []


def test_long_schedules_stay_within_points():
    spec = schedspec.load({"schedspec": 1, "lr": [{"kind": "linear", "duration": 1000, "start": 0, "end": 1},
                                                   {"kind": "step", "every": 1, "gamma": 0.999999, "duration": 10**7}]})  # fmt: skip
    node = spec.bound().hparams["lr"]
    steps = plan_steps(node, 10**7 + 1000, points=300)
    assert len(steps) <= 300 and {0, 999, 1000, 10**7 + 1000} <= set(steps)
    sgdr = schedspec.load("examples/sgdr.yaml")
    node = sgdr.bound().hparams["lr"]
    end = node.duration or sgdr.program.total
    steps = plan_steps(node, end, points=2000)
    k = np.arange(end + 1)
    v = evaluate_numpy(sgdr, k, "lr")
    restarts = [int(x) for x in np.nonzero(np.diff(v) > 0)[0] + 1]  # where the value jumps up: every restart
    assert restarts and all(r - 1 in steps and r in steps for r in restarts)


def test_plateau_needs_its_reports_and_a_schedule_without_end_needs_end(tmp_path):
    spec = schedspec.load({"schedspec": 1, "interval": "epoch",
                           "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss", "patience": 0, "duration": 6}})  # fmt: skip
    with SummaryWriter(str(tmp_path / "a")) as w, pytest.raises(schedspec.SpecError, match="val_loss"):
        schedspec.log_plan(spec, w, image=False)
    reports = [1.0, 1.1, 1.2, 0.5, 0.6, 0.7, 0.8]
    _, acc = log(tmp_path / "b", spec, metrics={"val_loss": reports})
    steps, values = scalars(acc, "plan/lr")
    assert steps == list(range(7))
    assert_float32_equal(values, schedspec.evaluate(spec, np.arange(7), metrics={"val_loss": reports}, dtype="float64"))
    forever = schedspec.loads("schedspec: 1\nlr: {kind: exponential, start: 0.1, gamma: 0.9}\n", file="f.yaml")
    with SummaryWriter(str(tmp_path / "c")) as w, pytest.raises(schedspec.SpecError, match=r"f.yaml:2:1: .*end="):
        schedspec.log_plan(forever, w, image=False)
    _, acc = log(tmp_path / "d", forever, end=50, image=False)
    assert scalars(acc, "plan/lr")[0][-1] == 50
