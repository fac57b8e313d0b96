"""schedspec/_metrics.py (plateau's report bookkeeping), mutation pass (issue 14, item 1): how many reports a
sweep's members need and from which report a plateau consumes them, per member of a swept duration var; the
report clock's words in every message (step / epoch, one or several per report); every refusal of a malformed
``metrics`` argument; the metrics a program monitors, groups included, in order of appearance; the lowering's
checks of plateaus (inside a repeat, two clocks for one metric) with every issue reported.

Report counts are worked by hand from docs/language.md's report clock (report j is made at the end of interval
j, counted from k = 0; the value at k follows the reports j < k // every; a plateau that begins at B and lasts D
consumes B // every <= j < (B + D) // every); values come from the independent reference (tests/reference.py);
messages are written out by hand.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

import schedspec
from schedspec import _metrics
from schedspec.lowering.bind import bind

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_members, ref_values
except ImportError:
    from reference import ref_members, ref_values

# a warmup whose length is a swept duration var (4 or 6 steps), then a 10-step plateau reporting every 2 steps:
# member w=4 consumes reports 2 <= j < 7, member w=6 reports 3 <= j < 8
SWEPT = """schedspec: 1
vars: {w: [4, 6]}
lr:
  - {kind: linear, duration: $w, start: 0.0, end: 0.1}
  - {kind: plateau, monitor: loss, every: 2, duration: 10, patience: 0, factor: 0.5}
"""

# interval epoch: a 1-epoch constant ($w0, not swept), a swept warmup ($w: 2 or 4 epochs), a 6-epoch plateau
# reporting every epoch; a group with its own plateau on another metric, reporting every 2 epochs
EPOCHS = """schedspec: 1
interval: epoch
steps_per_epoch: 10
vars: {w0: 1ep, w: [2ep, 4ep]}
lr:
  - {kind: constant, duration: $w0, value: 0.1}
  - {kind: linear, duration: $w, start: 0.0, end: 0.1}
  - {kind: plateau, monitor: loss, duration: 6, patience: 0, factor: 0.5}
groups:
  head:
    lr:
      - {kind: plateau, monitor: acc, every: 2, mode: max, start: 0.2}
"""


def _message(fn) -> str:
    with pytest.raises(schedspec.SpecError) as err:
        fn()
    return str(err.value)


# ------------------------------------------------------------------ sweep members with duration vars
def test_a_plateau_after_a_swept_duration_var_needs_what_its_neediest_member_needs():
    spec = schedspec.loads(SWEPT, "p.yaml")
    clock = ("(one per 2 steps; report j is made at the end of steps [2*j, 2*(j+1)), counted from k = 0; this "
             "plateau consumes reports from #2)")  # fmt: skip
    # k <= 5: member w=4 is at 5 // 2 = 2 = its first report, member w=6 has not begun: no report needed
    assert schedspec.evaluate(spec, np.arange(6), dtype="float64").shape == (2, 6)
    # k = 7: member w=4 needs reports 0..2 (3), member w=6 none of its own (7 // 2 = 3 = its first)
    assert _message(lambda: schedspec.evaluate(spec, np.arange(8), metrics={"loss": [1.0]})) == (
        f"p.yaml:5:5: lr[1]: metrics['loss'] has 1 reports, but evaluating k up to 7 needs 3 {clock}"
    )
    # k = 20: member w=4 stopped after report 6 (needs 7), member w=6 after report 7 (needs 8); the plateau of the
    # member that begins first consumes from #2 (w=6's from #3)
    assert _message(lambda: schedspec.evaluate(spec, np.arange(21), metrics={"loss": [1.0] * 7})) == (
        f"p.yaml:5:5: lr[1]: metrics['loss'] has 7 reports, but evaluating k up to 20 needs 8 {clock}"
    )
    assert _message(lambda: schedspec.evaluate(spec, np.arange(21))) == (
        "p.yaml:5:5: lr[1]: this `plateau` monitors 'loss': evaluating k up to 20 needs 8 reports of it "
        f"{clock[:-1]}); pass metrics={{'loss': [...]}}"
    )
    # 8 reports are enough for both members, and each member's values are the reference's
    loss = [1.0, 0.9, 0.8, 0.9, 0.95, 0.7, 0.8, 0.9]
    got = schedspec.evaluate(spec, np.arange(21), metrics={"loss": loss}, dtype="float64")
    doc = yaml.safe_load(SWEPT)
    for row, member in zip(got, ref_members(doc), strict=True):
        np.testing.assert_allclose(row, ref_values(doc, range(21), member=member, metrics={"loss": loss}),
                                   rtol=1e-13, atol=0)  # fmt: skip


def test_each_site_reads_a_members_duration_vars():
    program = schedspec.loads(SWEPT, "p.yaml").program
    (site,) = _metrics.sites(program.hparams["lr"])
    assert [(site.first(s), site.stop(s), site.needed(20, s)) for s in ({"w": 4}, {"w": 6}, {"w": 7})] == [
        (2, 7, 7), (3, 8, 8), (3, 8, 8)]  # fmt: skip
    assert _metrics._member_steps(program) == [{"w": 4}, {"w": 6}]
    # a duration var that is not swept keeps its one value in every member; interval units are epochs here
    assert _metrics._member_steps(schedspec.loads(EPOCHS, "e.yaml").program) == [{"w0": 1, "w": 2},
                                                                                 {"w0": 1, "w": 4}]


def test_an_epoch_clock_says_epoch_and_names_the_reports_of_one_or_several_epochs():
    spec = schedspec.loads(EPOCHS, "e.yaml")
    # lr: the plateau begins at epoch 1 + 2 = 3 (member w=2) or 1 + 4 = 5 (w=4), reports every epoch, lasts 6:
    # k = 8 needs reports 0..7 in both members (8 // 1, below both stops 9 and 11); it consumes from #3
    clock = ("(one per 1 epoch; report j is made at the end of epoch j, counted from k = 0; this plateau consumes "
             "reports from #3)")  # fmt: skip
    assert _message(lambda: schedspec.evaluate(spec, np.arange(9), metrics={"loss": [1.0]})) == (
        f"e.yaml:8:5: lr[2]: metrics['loss'] has 1 reports, but evaluating k up to 8 needs 8 {clock}"
    )
    # the group's plateau begins at 0, every 2 epochs: k = 8 needs 8 // 2 = 4 reports
    assert _message(lambda: schedspec.evaluate(spec, np.arange(9), group="head")) == (
        "e.yaml:12:9: groups.head.lr[0]: this `plateau` monitors 'acc': evaluating k up to 8 needs 4 reports of "
        "it (one per 2 epochs; report j is made at the end of epochs [2*j, 2*(j+1)), counted from k = 0; this "
        "plateau consumes reports from #0); pass metrics={'acc': [...]}"
    )


def test_nothing_to_evaluate_needs_no_report():
    spec = schedspec.loads(SWEPT, "p.yaml")
    assert schedspec.evaluate(spec, np.arange(0), dtype="float64").shape == (2, 0)
    node = bind(spec.program, {"w": 4}).hparams["lr"]
    _metrics.check_lengths(spec, ("lr",), node, {}, -1)  # k_max < 0: nothing is evaluated, nothing is needed
    with pytest.raises(schedspec.SpecError, match="up to 6 needs 3 reports"):  # reports 0..2 (6 // 2 = 3)
        _metrics.check_lengths(spec, ("lr",), node, {}, 6)


def test_inputs_give_an_empty_float64_list_for_a_metric_no_value_needs_yet():
    spec = schedspec.loads(SWEPT, "p.yaml")
    node = bind(spec.program, {"w": 4}).hparams["lr"]
    (got,) = _metrics.inputs(spec, ("lr",), node, None, 5).values()
    assert got.dtype == np.float64 and got.shape == (0,)
    given = _metrics.inputs(spec, ("lr",), node, {"loss": [1, 2, 3]}, 6)
    assert list(given) == ["loss"] and given["loss"].dtype == np.float64 and given["loss"].tolist() == [1.0, 2.0, 3.0]


# ------------------------------------------------------------------ the metrics argument, refused
@pytest.mark.parametrize(
    ("value", "got"),
    [("abc", "str"), ([[1.0, 2.0]], "list"), (1.0, "a scalar"), ({"a": 1}, "dict"), (None, "a scalar")],
    ids=["str", "2-D", "scalar", "dict", "None"],
)
def test_a_metric_that_is_not_a_list_of_numbers_is_refused(value, got):
    spec = schedspec.loads(SWEPT, "p.yaml")
    assert _message(lambda: schedspec.evaluate(spec, [0], metrics={"loss": value})) == (
        f"p.yaml: metrics.loss: metrics['loss'] must be a 1-D list of numbers (one report per interval), got {got}"
    )


def test_metrics_that_are_not_a_mapping_are_refused():
    spec = schedspec.loads(SWEPT, "p.yaml")
    assert _message(lambda: schedspec.evaluate(spec, [0], metrics=[1.0])) == (
        "p.yaml: metrics: metrics must be a mapping {name: [reports]}, got list"
    )


def test_an_unknown_metric_lists_every_monitored_one_groups_included_in_order():
    spec = schedspec.loads(EPOCHS, "e.yaml")
    assert _metrics.monitors(spec.program) == ["loss", "acc"]
    assert _message(lambda: schedspec.evaluate(spec, [0], metrics={"los": [1.0]})) == (
        "e.yaml: metrics.los: metrics['los']: no `plateau` of this spec monitors 'los'; did you mean 'loss'? "
        "(monitored: loss, acc)"
    )
    assert _message(lambda: schedspec.evaluate(spec, [0], metrics={"zzz": [1.0]})) == (
        "e.yaml: metrics.zzz: metrics['zzz']: no `plateau` of this spec monitors 'zzz' (monitored: loss, acc)"
    )
    plain = schedspec.loads("schedspec: 1\nlr: 0.1\n", "c.yaml")
    assert _message(lambda: schedspec.evaluate(plain, [0], metrics={"loss": [1.0]})) == (
        "c.yaml: metrics.loss: metrics['loss']: this spec has no `plateau`, so it takes no metric reports"
    )


def test_schedules_are_the_hparams_then_each_groups_overrides():
    program = schedspec.loads(EPOCHS, "e.yaml").program
    got = _metrics.schedules(program)
    assert [path for path, _ in got] == [("lr",), ("groups", "head", "lr")]
    assert got[0][1] is program.hparams["lr"] and got[1][1] is program.groups["head"]["lr"]


# ------------------------------------------------------------------ lowering checks
def test_every_plateau_problem_of_a_document_is_reported_groups_included():
    # a plateau inside a repeat is refused and takes no part in the clock check; the two clocks of 'l' (every 2 in
    # lr[1], every 3 in lr[2]) and the group's every 1 are each refused, named after the first clock seen
    text = (
        "schedspec: 1\n"
        "lr:\n"
        "  - {kind: repeat, times: 2, of: {kind: plateau, start: 0.1, monitor: l, duration: 4, every: 1}}\n"
        "  - {kind: plateau, start: 0.1, monitor: l, duration: 4, every: 2}\n"
        "  - {kind: plateau, monitor: l, every: 3}\n"
        "groups:\n"
        "  head:\n"
        "    lr: {kind: plateau, start: 0.2, monitor: l, every: 1}\n"
    )
    msg = _message(lambda: schedspec.loads(text, "q.yaml"))
    repeat = ("q.yaml:3:34: a `plateau` cannot be inside a `repeat`: its metric reports cannot restart; put the "
              "plateau in a sequence instead")  # fmt: skip
    clock = ("a metric has one report clock (one list of reports); give both the same `every`")
    assert repeat in msg
    assert (f"q.yaml:5:5: this plateau reports 'l' every 3 steps, but the plateau at lr[1] reports it every 2: "
            f"{clock}") in msg  # fmt: skip
    assert (f"q.yaml:8:9: this plateau reports 'l' every 1 steps, but the plateau at lr[1] reports it every 2: "
            f"{clock}") in msg  # fmt: skip
    assert msg.count("q.yaml:") == 3, msg


# ------------------------------------------------------------------ online trajectories
def test_a_plateau_that_begins_inside_a_report_interval_consumes_that_intervals_report():
    """A plateau from step 5, every 2: report 2 (the end of steps 4..5) is its first (5 // 2 = 2, docs/language.md's
    report clock), and 7 = (5 + 10) // 2 is one past its last. Its value after each report is what torch's own
    ReduceLROnPlateau gives on reports 2..6; the offline evaluation at k = 2n says the same."""
    from schedspec import backends as B

    try:
        from .helpers import native_torch
    except ImportError:
        from helpers import native_torch

    spec = schedspec.loads(
        "schedspec: 1\nlr:\n  - {kind: linear, duration: 5, start: 0.0, end: 0.1}\n"
        "  - {kind: plateau, monitor: loss, every: 2, duration: 10, patience: 0, factor: 0.5}\n", "p.yaml")
    reports = [9.0, 9.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1]
    (site,) = _metrics.sites(bind(spec.program, None).hparams["lr"])
    assert (site.origin, site.first(), site.stop()) == (5, 2, 7)
    ((traj, count),) = _metrics.trajectories(B.MathXP, [site], {("metric", "loss"): reports}).values()
    assert count == 10 and len(traj) == 11
    native = native_torch(reports[2:7] + [0.0], {"patience": 0, "factor": 0.5}, start=0.1)
    assert native == [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]
    assert traj[:2] == [0.1, 0.1] and traj[2:8] == native and traj[8:] == [0.0125] * 3
    got = schedspec.evaluate(spec, [2 * n for n in range(3, 8)], metrics={"loss": reports}, dtype="float64")
    assert got.tolist() == traj[3:8]


def test_sites_are_the_plateaus_in_pre_order_with_the_step_each_begins_at():
    """``Site``'s documented attributes: the plateau's node, the global step it begins at (the durations before it
    in its sequence), its index among the plateaus (pre-order), and ``in_repeat`` (False: the lowering refuses a
    plateau inside a repeat)."""
    spec = schedspec.loads(
        "schedspec: 1\nlr:\n"
        "  - {kind: plateau, start: 0.1, monitor: a, duration: 4, every: 1}\n"
        "  - {kind: linear, duration: 3, start: 0.1, end: 0.2}\n"
        "  - {kind: plateau, monitor: b, duration: 5, every: 5}\n"
        "  - {kind: plateau, monitor: a, every: 1}\n", "s.yaml")
    node = spec.program.hparams["lr"]
    got = _metrics.sites(node)
    assert [(s.origin, s.index, s.in_repeat, s.monitor, s.every) for s in got] == [
        (0, 0, False, "a", 1), (7, 1, False, "b", 5), (12, 2, False, "a", 1)]  # fmt: skip
    assert [s.node for s in got] == [node.parts[0], node.parts[2], node.parts[3]]
    assert [s.stop() for s in got] == [4, 12 // 5, None]
    assert _metrics.monitors(spec.program) == ["a", "b"]
    # the document path of each: its `kind: plateau` mapping; a node built by hand (no path) is named by its root
    assert [_metrics.site_path(("lr",), s) for s in got] == [("lr", 0), ("lr", 2), ("lr", 3)]
    bare = _metrics.Site(dataclasses.replace(node.parts[0], path=()), 0, 0)
    assert _metrics.site_path(["lr"], bare) == ("lr",)


def test_a_plateau_that_needs_no_report_yet_does_not_hide_the_next_ones_need():
    """A product of two plateaus (both begin at 0): up to k = 5 the one reporting every 10 steps needs none (5 // 10
    = 0), the one reporting every step needs reports 0..4; only the second is named."""
    spec = schedspec.loads(
        "schedspec: 1\nlr:\n  kind: product\n  of:\n"
        "    - {kind: plateau, start: 1.0, monitor: a, every: 10, duration: 40}\n"
        "    - {kind: plateau, start: 0.1, monitor: b, every: 1, duration: 40}\n", "x.yaml")
    assert _message(lambda: schedspec.evaluate(spec, np.arange(6))) == (
        "x.yaml:6:7: lr.of[1]: this `plateau` monitors 'b': evaluating k up to 5 needs 5 reports of it (one per 1 "
        "step; report j is made at the end of step j, counted from k = 0; this plateau consumes reports from #0); "
        "pass metrics={'b': [...]}"
    )
    # k = 0 needs no report of any plateau (the value at 0 is the start, whatever the clock)
    assert schedspec.evaluate(spec, [0], dtype="float64").tolist() == [0.1]


def test_the_length_check_names_a_plateau_built_by_hand_after_its_schedule():
    """``check_lengths`` (public) on a tree built by hand, whose plateau has no document path: the issue is
    positioned at the schedule's value (the list under `lr:`)."""
    spec = schedspec.loads(SWEPT, "p.yaml")
    plateau = dataclasses.replace(bind(spec.program, {"w": 4}).hparams["lr"].parts[1], path=())
    want = (
        "p.yaml:4:3: lr: this `plateau` monitors 'loss': evaluating k up to 3 needs 1 reports of it (one per 2 steps; "
        "report j is made at the end of steps [2*j, 2*(j+1)), counted from k = 0; this plateau consumes reports "
        "from #0); pass metrics={'loss': [...]}"
    )
    assert _message(lambda: _metrics.check_lengths(spec, ("lr",), plateau, {}, 3)) == want
    assert _message(lambda: _metrics.inputs(spec, ("lr",), plateau, None, 3)) == want


def test_the_clock_check_names_a_plateau_built_by_hand_after_its_schedule():
    """``check_program`` (public) on trees built by hand, whose plateaus have no document path: each issue names
    the schedule's root instead."""
    spec = schedspec.loads(SWEPT, "p.yaml")
    plateau = dataclasses.replace(bind(spec.program, {"w": 4}).hparams["lr"].parts[1], path=())
    other = dataclasses.replace(plateau, every=3)
    (issue,) = _metrics.check_program([(("lr",), plateau), (("momentum",), other)], spec.doc)
    assert issue.message == (
        "this plateau reports 'loss' every 3 steps, but the plateau at lr reports it every 2: a metric has one "
        "report clock (one list of reports); give both the same `every`"
    )
    assert issue.path == "momentum"
