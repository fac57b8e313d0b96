"""What ``schedspec check`` computes (schedspec/analysis.py), first mutation pass (issue 14, item 1): ``--at``
ranges and their exact refusals, the default evaluation length, the phase table, exact min/max over every sweep
member and the parameter groups' lines. Every expected value is worked by hand from docs/language.md (a linear
``a -> b`` over ``T`` is ``a + (b - a) * min(t, T) / T``; an open last phase runs to ``total``; a range ``0..N``
includes ``N``, as ``check`` prints it) and every expected line is written out in full."""

from __future__ import annotations

import pytest

import schedspec
from schedspec import analysis
from schedspec.errors import UsageError

H = "schedspec: 1\n"


# ---------------------------------------------------------------- parse_range (`eval --at`, `plot --at`)


@pytest.mark.parametrize("text, expected", [
    ("3:7", range(3, 7)),
    ("3:7:2", range(3, 7, 2)),
    ("3:7:1", range(3, 7)),
    ("5", range(5, 6)),
    ("0", range(0, 1)),
    ("0:1", range(0, 1)),
    ("0:2147483648", range(0, 2**31)),  # the last step asked is 2**31 - 1
    ("2147483647", range(2**31 - 1, 2**31)),
])  # fmt: skip
def test_parse_range_reads_a_b_s_with_b_exclusive(text, expected):
    assert analysis.parse_range(text) == expected


@pytest.mark.parametrize("text", ["a:b", "1:x", "1.5:3", "", "1::3"])
def test_parse_range_refuses_what_is_not_whole_numbers(text):
    with pytest.raises(UsageError) as err:
        analysis.parse_range(text)
    assert str(err.value) == f"--at expects A:B or A:B:S with whole numbers, got {text!r}"


@pytest.mark.parametrize("text", ["1:2:3:4", "3:7:0", "3:7:-1", "-1:3", "-1", "5:5", "5:4"])
def test_parse_range_refuses_a_malformed_or_empty_range(text):
    with pytest.raises(UsageError) as err:
        analysis.parse_range(text)
    assert str(err.value) == f"--at expects A:B[:S] with 0 <= A < B and S > 0, got {text!r}"


@pytest.mark.parametrize("text", ["0:2147483649", "2147483648", "5:3000000000:7"])
def test_parse_range_refuses_a_step_at_or_above_2_31(text):
    with pytest.raises(UsageError) as err:
        analysis.parse_range(text)
    assert str(err.value) == "--at: steps must be below 2**31"


# ---------------------------------------------------------------- default_length

LIN100 = "lr: {kind: linear, start: 1.0, end: 0.0, duration: 100}\n"
OPEN = "lr: [{kind: linear, start: 1.0, end: 0.5, duration: 10}, {kind: constant, value: 0.5}]\n"


@pytest.mark.parametrize("text, expected", [
    (H + LIN100, 100),                                   # its end
    (H + "total: 250\n" + LIN100, 250),                  # `total` later than its end
    (H + "total: 40\n" + LIN100, 100),                   # its end later than `total`
    (H + OPEN, None),                                    # never ends, no `total`
    (H + "total: 40\n" + OPEN, 40),                      # the open last phase runs to `total`
    # a duration var that sweeps: the longest member's end (not the first member's)
    (H + "vars: {d: [10, 30, 20]}\nlr: {kind: linear, start: 1.0, end: 0.0, duration: $d}\n", 30),
    (H + "total: 25\nvars: {d: [10, 30, 20]}\nlr: {kind: linear, start: 1.0, end: 0.0, duration: $d}\n", 30),
    (H + "total: 35\nvars: {d: [10, 30, 20]}\nlr: {kind: linear, start: 1.0, end: 0.0, duration: $d}\n", 35),
])  # fmt: skip
def test_default_length_is_the_later_of_the_end_and_total(text, expected):
    assert analysis.default_length(schedspec.loads(text)) == expected


def test_default_length_of_another_hyperparameter_and_of_one_that_is_not_there():
    spec = schedspec.loads(H + "total: 40\n" + LIN100 + "wd: {kind: linear, start: 1.0, end: 0.0, duration: 60}\n")
    assert analysis.default_length(spec, "wd") == 60  # max(60, 40), not lr's 100
    assert analysis.default_length(spec, "momentum") == 40  # no such schedule: `total`
    assert analysis.default_length(schedspec.loads(H + LIN100), "momentum") is None
    assert analysis.default_length(schedspec.loads(H + "total: 40\n" + LIN100 + "wd: 0.5\n"), "wd") == 40


# ---------------------------------------------------------------- phase_rows, monitors

PLATEAUS = H + (
    "lr:\n"
    "  - {kind: linear, start: 0.0, end: 0.5, duration: 10}\n"
    "  - {kind: plateau, monitor: val_loss, factor: 0.5, duration: 20, every: 5}\n"
    "  - {kind: plateau, monitor: acc, mode: max, duration: 20, every: 5}\n"
    "  - {kind: plateau, monitor: val_loss, start: 0.125, duration: 20, every: 5}\n"
    "  - {kind: cosine, end: 0.0, duration: 10}\n"
    "  - {kind: constant, value: 0.25}\n"
)


def test_phase_rows_are_kind_begin_end_and_both_values():
    spec = schedspec.loads(H + "lr:\n  - {kind: linear, start: 0.0, end: 0.5, duration: 10}\n"
                           "  - {kind: cosine, end: 0.125, duration: 20}\n  - {kind: constant, value: 0.25}\n")
    assert analysis.phase_rows(spec.bound().hparams["lr"]) == [
        ("linear", 0, 10, 0.0, 0.5),
        ("cosine", 10, 30, 0.5, 0.125),
        ("constant", 30, None, 0.25, None),  # never ends: no end value
    ]


@pytest.mark.parametrize("fields, label", [
    ('period: "26/1.5", shift: 2', "repeat (period 52/3, shift 2)"),
    ('period: "26/1.5"', "repeat (period 52/3)"),
    ("shift: 2", "repeat (shift 2)"),  # the cycle length is `of`'s own: not repeated
    ("period: 12", "repeat (period 12)"),  # a whole length
    ("times: 2", "repeat"),  # neither: the kind alone
])  # fmt: skip
def test_phase_rows_label_a_repeat_with_its_real_period_and_its_shift(fields, label):
    spec = schedspec.loads(H + f"lr: {{kind: repeat, {fields}, of: {{kind: cosine, start: 1.0, end: 0.0, "
                               "duration: 10}}\n")  # fmt: skip
    assert [row[0] for row in analysis.phase_rows(spec.bound().hparams["lr"])] == [label]


def test_phase_rows_of_plateaus_leave_what_needs_the_reports_unknown():
    rows = analysis.phase_rows(schedspec.loads(PLATEAUS).bound().hparams["lr"])
    assert rows == [
        ("linear", 0, 10, 0.0, 0.5),
        # a plateau's end value needs the reports (`check` prints "-"); its first value is its start, where that
        # start is known: carried from the linear (0.5) or written (0.125), but not when carried from another
        # plateau (`check` prints "?")
        ("plateau", 10, 30, 0.5, None),
        ("plateau", 30, 50, None, None),
        ("plateau", 50, 70, 0.125, None),
        ("cosine", 70, 80, None, None),  # carried from a plateau: even its end value is computed from its start
        ("constant", 80, None, 0.25, None),
    ]


def test_monitors_are_the_distinct_metrics_in_order():
    assert analysis.monitors(schedspec.loads(PLATEAUS).bound().hparams["lr"]) == ["val_loss", "acc"]
    assert analysis.monitors(schedspec.loads(H + LIN100).bound().hparams["lr"]) == []


# ---------------------------------------------------------------- minmax, value_range


def test_minmax_over_steps_0_to_length_inclusive():
    program = schedspec.loads(H + "lr: {kind: linear, start: 1.0, end: 0.0, duration: 10}\n").program
    assert analysis.minmax(program, "lr", 5) == (0.5, 1.0)  # 1 - 5/10 at step 5, the last one counted
    assert analysis.minmax(program, "lr", 10) == (0.0, 1.0)
    assert analysis.minmax(program, "lr", 1000) == (0.0, 1.0)
    assert analysis.minmax(program, "lr", None) is None


def test_minmax_of_a_rising_schedule():
    program = schedspec.loads(H + "lr: {kind: linear, start: 1.0, end: 3.0, duration: 4}\n").program
    assert analysis.minmax(program, "lr", 2) == (1.0, 2.0)
    assert analysis.minmax(program, "lr", 8) == (1.0, 3.0)


def test_value_range_covers_every_sweep_member():
    program = schedspec.loads(H + "vars: {p: [0.5, 2.0], d: [4, 8]}\n"
                              "lr: {kind: linear, start: $p, end: 1.0, duration: $d}\n").program
    # members (0.5, 4), (0.5, 8), (2, 4), (2, 8): each runs to its own end
    assert analysis.value_range(program, "lr") == (0.5, 2.0, {4, 8})
    assert analysis.value_range(program, "lr", lambda d: 2 * d) == (0.5, 2.0, {8, 16})
    # to step 2 only: 0.5 + 0.5 * 2/4 = 0.75 and 0.5 + 0.5 * 2/8 = 0.625; 2 - 2/4 = 1.5 and 2 - 2/8 = 1.75
    assert analysis.value_range(program, "lr", lambda d: 2) == (0.5, 2.0, {2})
    assert analysis.minmax(program, "lr", 0) == (0.5, 2.0)


def test_value_range_default_length_is_the_later_of_the_end_and_total():
    text = "lr: {kind: linear, start: 1.0, end: 0.0, duration: 10}\n"
    assert analysis.value_range(schedspec.loads(H + text).program, "lr") == (0.0, 1.0, {10})
    assert analysis.value_range(schedspec.loads(H + "total: 30\n" + text).program, "lr") == (0.0, 1.0, {30})
    assert analysis.value_range(schedspec.loads(H + OPEN).program, "lr") is None  # never ends, no total
    assert analysis.value_range(schedspec.loads(H + "total: 40\n" + OPEN).program, "lr") == (0.5, 1.0, {40})


def test_value_range_of_a_single_member_that_only_rises():
    program = schedspec.loads(H + "lr: {kind: linear, start: 0.25, end: 0.75, duration: 2}\n").program
    assert analysis.value_range(program, "lr") == (0.25, 0.75, {2})


def test_value_range_of_plateaus_is_unknown():
    program = schedspec.loads(PLATEAUS + "total: 100\n").program
    assert analysis.value_range(program, "lr") is None
    assert analysis.minmax(program, "lr", 100) is None


# ---------------------------------------------------------------- group_lines

GROUPS = (
    "steps_per_epoch: 10\n"
    "lr:\n"
    "  - {kind: linear, start: 0.0, end: 0.5, duration: 10}\n"
    "  - {kind: constant, value: 0.25}\n"
    "wd: 0.5\n"
    "groups:\n"
    "  back: {scale: 0.25}\n"
    "  head:\n"
    "    lr:\n"
    "      - {kind: constant, value: 1.0, duration: 2ep}\n"
    "      - {kind: linear, end: 0.5, duration: 4}\n"
    "    wd: 0.0\n"
    "  other: {}\n"
    "  pl:\n"
    "    lr: [{kind: linear, start: 0.0, end: 0.5, duration: 10},\n"
    "         {kind: plateau, monitor: val_loss, duration: 20, every: 5},\n"
    "         {kind: plateau, monitor: acc, duration: 20, every: 5}]\n"
    "  own:\n"
    "    lr: {kind: scale, by: 2.0, of: {kind: linear, start: 1.0, end: 0.5, duration: 6}}\n"
)


def test_group_lines_without_total():
    program = schedspec.loads(H + GROUPS).program
    assert analysis.group_lines(program, "step") == [
        "  group back:",
        "    lr: 0.25 x the document's `lr`",  # never ends and no total: no min/max line
        "  group head:",
        "    lr: constant 0..20; linear 20..24",
        "      min 0.5  max 1  (over steps 0..24)",
        "    wd: constant 0..forever",
        "  group other: the document's schedules",
        "  group pl:",
        "    lr: linear 0..10; plateau 10..30; plateau 30..50",
        "      values depend on the metric reports of val_loss, acc",
        "  group own:",
        "    lr: scale 0..6",  # a scale of its own schedule, not of the document's
        "      min 1  max 2  (over steps 0..6)",
    ]


def test_group_lines_with_total():
    program = schedspec.loads(H + "total: 30\n" + GROUPS).program
    assert analysis.group_lines(program, "epoch") == [
        "  group back:",
        "    lr: 0.25 x the document's `lr`",
        # 0.25 x the linear's last step, 9 (0.45): from step 10 on the document's lr is the constant 0.25
        "      min 0  max 0.1125  (over epochs 0..30)",
        "  group head:",
        "    lr: constant 0..20; linear 20..24",
        "      min 0.5  max 1  (over epochs 0..30)",
        "    wd: constant 0..30",  # an open last phase runs to `total`
        "      min 0  max 0  (over epochs 0..30)",
        "  group other: the document's schedules",
        "  group pl:",
        "    lr: linear 0..10; plateau 10..30; plateau 30..50",
        "      values depend on the metric reports of val_loss, acc",
        "  group own:",
        "    lr: scale 0..6",
        "      min 1  max 2  (over epochs 0..30)",
    ]


SWEPT_GROUPS = H + (
    "vars: {peak: [1.0, 4.0], d: [4, 8]}\n"
    "lr: {kind: linear, start: $peak, end: 0.5, duration: 10}\n"
    "groups:\n"
    "  back: {scale: 0.5}\n"
    "  head:\n"
    "    lr: {kind: linear, start: $peak, end: 0.0, duration: $d}\n"
)


def test_group_min_max_cover_every_sweep_member():
    """Regression: `check`'s group lines gave the min/max of the first sweep member only (computed on the bound
    program) while its header says "min/max cover all"; found by analysis.py's mutants that dropped the sub-program's
    fields and survived."""
    program = schedspec.loads(SWEPT_GROUPS).program
    assert analysis.group_lines(program, "step") == [
        "  group back:",
        "    lr: 0.5 x the document's `lr`",
        "      min 0.25  max 2  (over steps 0..10)",  # 0.5 x [0.5, 4]: peak 4 is the second member
        "  group head:",
        "    lr: linear 0..4",  # the phases of the first member (d = 4)
        "      min 0  max 4  (over steps 0..8, each member to its own end)",
    ]
    # the phases shown are those of the member asked for; min/max still cover all four
    assert analysis.group_lines(program, "step", {"peak": 4.0, "d": 8})[4:] == [
        "    lr: linear 0..8",
        "      min 0  max 4  (over steps 0..8, each member to its own end)",
    ]
