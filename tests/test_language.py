"""The language and the loader: every bad input gets `file:line:col: message`, never a traceback."""

from __future__ import annotations

import pytest

import schedspec
from schedspec import SpecError, ir
from schedspec import language as spec

# the neutral kinds in the language's order (a new kind joins the list in the messages without editing this file)
_NEUTRAL = ", ".join(spec.NEUTRAL_KINDS)
assert _NEUTRAL.startswith("constant, linear, cosine, polynomial, ") and _NEUTRAL.endswith(", product, scale, clip, sum")

HEAD = "schedspec: 1\n"


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        schedspec.loads(text, "s.yaml")
    return [str(i) for i in info.value.issues]


# (yaml text, [expected "file:line:col: message" lines])
BAD = {
    "malformed": (
        HEAD + "lr: [\n",
        ["s.yaml:3:1: malformed YAML: expected the node content, but found '<stream end>' (while parsing a flow node)"],
    ),
    "tab": (
        HEAD + "lr:\n\t- {kind: constant, value: 0.1}\n",
        ["s.yaml:3:1: tab character in indentation; YAML indentation must use spaces"],
    ),
    "duplicate key": (
        HEAD + "lr: 0.1\nlr: 0.2\n",
        ["s.yaml:3:1: duplicate key 'lr' (first defined on line 2); remove one of them"],
    ),
    "unknown kind": (
        HEAD + "lr: {kind: cosin, start: 1, duration: 10}\n",
        [
            f"s.yaml:2:12: unknown kind 'cosin'; did you mean 'cosine'? (known kinds: {_NEUTRAL}; or a framework's "
            "own: torch.<Class>, keras.<Class>, optax.<function>)"
        ],
    ),
    "unknown key": (
        HEAD + "lr: {kind: cosine, start: 1, durtion: 10}\n",
        [
            "s.yaml:2:30: unknown key `durtion` for `cosine`; did you mean 'duration'? "
            "(valid keys: duration, kind, start, end, exponent, warp)"
        ],
    ),
    "unknown top-level key close to a reserved one": (
        HEAD + "step_per_epoch: 10\nlr: 0.1\n",
        [
            "s.yaml:2:1: unknown top-level key `step_per_epoch`; did you mean 'steps_per_epoch'? (any other name is "
            "read as a hyperparameter schedule; rename it if that is what you meant)"
        ],
    ),
    "wrong type": (
        HEAD + "lr: {kind: cosine, start: abc, duration: 10}\n",
        ["s.yaml:2:27: `start`: expected a number or a $var, got the string 'abc'"],
    ),
    "wrong type (bool)": (
        HEAD + "lr: {kind: exponential, start: 1, gamma: 0.5, staircase: 3}\n",
        ["s.yaml:2:58: `staircase`: expected true or false, got 3"],
    ),
    "negative": (
        HEAD + "lr: {kind: cosine, start: -0.1, duration: 10}\n",
        ["s.yaml:2:27: `start`: must not be negative (got -0.1)"],
    ),
    "nan": (
        HEAD + "lr: {kind: cosine, start: .nan, duration: 10}\n",
        ["s.yaml:2:27: `start`: NaN is not allowed here; give a number"],
    ),
    "zero duration": (
        HEAD + "lr: {kind: cosine, start: 1, duration: 0}\n",
        ["s.yaml:2:40: `duration`: a duration must be > 0 (got 0)"],
    ),
    "negative duration": (
        HEAD + "lr: {kind: cosine, start: 1, duration: -5}\n",
        ["s.yaml:2:40: `duration`: a duration must be > 0 (got -5)"],
    ),
    "negative string duration": (
        HEAD + "steps_per_epoch: 10\nlr: {kind: cosine, start: 1, duration: -5ep}\n",
        ["s.yaml:3:40: `duration`: expected a duration like 1000, '2000st', '5ep', '1.5ep', '10%' or a $var, got the string '-5ep'"],
    ),
    "ep without steps_per_epoch": (
        HEAD + "lr: {kind: cosine, start: 1, duration: 5ep}\n",
        ["s.yaml:2:40: '5ep' is in epochs, which needs `steps_per_epoch`; add `steps_per_epoch: N` at the top level"],
    ),
    "% without total": (
        HEAD + "lr: {kind: cosine, start: 1, duration: 10%}\n",
        ["s.yaml:2:40: '10%' is a percentage of `total`, but `total` is not set; add e.g. `total: 100ep`"],
    ),
    "fractional duration": (
        HEAD + "steps_per_epoch: 3\nlr: {kind: cosine, start: 1, duration: 1.5ep}\n",
        [
            "s.yaml:3:40: duration '1.5ep' is 4.5 steps at steps_per_epoch 3, not a whole number of steps; never "
            "rounded: choose a value that divides evenly"
        ],
    ),
    "fractional bare duration": (
        HEAD + "lr: {kind: cosine, start: 1, duration: 2.5}\n",
        ["s.yaml:2:40: `duration`: a bare duration is a whole number of interval units (got 2.5); write e.g. '2.5ep' for epochs"],
    ),
    "unknown var": (
        HEAD + "vars: {peak: 0.1}\nlr: {kind: cosine, start: $paek, duration: 10}\n",
        [
            "s.yaml:3:27: unknown var '$paek'; did you mean 'peak'?; define it under `vars:` (defined: peak)",
        ],
    ),
    "missing start": (
        HEAD + "lr: {kind: cosine, duration: 10}\n",
        [
            "s.yaml:2:5: missing `start`: the first phase must give its start value (later phases default to the "
            "previous phase's final value)"
        ],
    ),
    "milestones out of order": (
        HEAD + "lr: {kind: multistep, start: 0.1, milestones: [30, 80, 60]}\n",
        ["s.yaml:2:56: milestones must be in ascending order: 60 comes after 80"],
    ),
    "phase after total": (
        HEAD + "total: 100\nlr:\n  - {kind: constant, value: 0.1, duration: 150}\n  - {kind: constant, value: 0.01}\n",
        ["s.yaml:5:5: this phase begins at step 150, after `total` (step 100); shorten the phases before it or raise `total`"],
    ),
    "empty file": ("", ["s.yaml:1:1: the file is empty; a spec needs at least `schedspec: 1` and `lr`"]),
    "comment-only file": ("# nothing\n", ["s.yaml:1:1: the file is empty; a spec needs at least `schedspec: 1` and `lr`"]),
    "not a mapping": ("- 1\n- 2\n", ["s.yaml:1:1: the top level must be a mapping (`schedspec: 1`, `lr: ...`), got a list"]),
    "scalar document": ("hello\n", ["s.yaml:1:1: the top level must be a mapping (`schedspec: 1`, `lr: ...`), got the scalar 'hello'"]),
    "missing lr": (HEAD, ["s.yaml:1:1: missing required key `lr`"]),
    "null schedule": (
        HEAD + "lr:\n",
        ["s.yaml:2:4: expected a schedule (a number, a $var, a mapping with `kind`, or a list of phases), got nothing (null)"],
    ),
    "version": ("schedspec: 2\nlr: 0.1\n", ["s.yaml:1:12: unsupported format version 2; this schedspec reads version 1"]),
    "literal": (
        HEAD + "interval: epochs\nlr: 0.1\n",
        ["s.yaml:2:11: `interval`: expected 'step' or 'epoch', got the string 'epochs'; did you mean 'epoch'?"],
    ),
    "yaml 1.1 boolean is a string": (
        HEAD + "lr: {kind: constant, value: yes}\n",
        ["s.yaml:2:29: `value`: expected a number or a $var, got the string 'yes'"],
    ),
    "open phase not last": (
        HEAD + "lr:\n  - {kind: step, start: 1, every: 10}\n  - {kind: constant, value: 0.1}\n",
        ["s.yaml:3:5: only the last phase of a sequence may omit `duration`; give this `step` phase one"],
    ),
    "cosine without length": (
        HEAD + "lr: {kind: cosine, start: 1}\n",
        ["s.yaml:2:5: `cosine` needs a `duration` (or, as the last phase, a `total` to run to)"],
    ),
    "missing required key": (
        HEAD + "lr: {kind: linear, start: 0, duration: 10}\n",
        ["s.yaml:2:5: missing required key `end` for kind `linear`"],
    ),
    "missing kind": (
        HEAD + "lr: {start: 0, duration: 10}\n",
        [
            f"s.yaml:2:5: missing `kind`: a schedule mapping needs `kind` (one of {_NEUTRAL}; or a framework's own: "
            "torch.<Class>, keras.<Class>, optax.<function>)"
        ],
    ),
    "var of the wrong role": (
        HEAD + "vars: {w: 5ep}\nsteps_per_epoch: 10\nlr: {kind: constant, value: $w}\n",
        ["s.yaml:2:11: var $w is the duration '5ep' but is used as a number at lr.value"],
    ),
    "var out of a field's bounds": (
        HEAD + "vars: {f: 1.5}\nlr: {kind: plateau, start: 0.1, monitor: val_loss, factor: $f, every: 1}\n",
        ["s.yaml:2:11: $f = 1.5 is used at lr.factor, where it must be < 1"],
    ),
    "merge key": (
        HEAD + "base: &b {kind: constant, value: 0.1}\nlr:\n  <<: *b\n",
        ["s.yaml:4:3: YAML merge keys ('<<') are not supported; write the keys out"],
    ),
    "explicit tag": (
        HEAD + "lr: !!python/object:os.system {}\n",
        [
            "s.yaml:2:5: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'; a spec holds only plain "
            "numbers, strings, lists and mappings"
        ],
    ),
    "two documents": (
        HEAD + "lr: 0.1\n---\nschedspec: 1\n",
        ["s.yaml:3:1: several YAML documents in one file; a spec is a single document (remove the extra '---')"],
    ),
    "onecycle degenerate": (
        HEAD + "lr: {kind: onecycle, peak: 0.1, duration: 3, pct_start: 0.3}\n",
        [
            "s.yaml:2:57: pct_start * duration = 0.9 must be > 1 (the peak is at pct_start*N - 1, which "
            "must come after step 0)"
        ],
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_exact_message_and_position(name):
    text, expected = BAD[name]
    assert problems(text) == expected


def test_every_problem_is_reported_at_once():
    text = HEAD + (
        "lr:\n"
        "  - {kind: linar, duration: 10}\n"
        "  - {kind: cosine, start: -1, durtion: 5}\n"
        "momentum: abc\n"
    )
    got = problems(text)
    assert [g.split(":")[1] for g in got] == ["3", "4", "4", "5"]
    assert "unknown kind 'linar'" in got[0]
    assert "must not be negative" in got[1] and "unknown key `durtion`" in got[2]
    assert "`momentum`: expected a number" in got[3]


def test_dict_spec_has_paths_instead_of_lines():
    with pytest.raises(SpecError) as info:
        schedspec.load({"schedspec": 1, "lr": [{"kind": "cosine", "start": -1, "duration": 10}]})
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.col, issue.path) == ("<dict>", None, None, "lr[0].start")
    assert str(issue) == "<dict>: lr[0].start: `start`: must not be negative (got -1)"
    assert isinstance(info.value, ValueError)


def test_issue_fields():
    with pytest.raises(SpecError) as info:
        schedspec.loads(HEAD + "lr:\n  - {kind: linear, start: 0, end: 1, duration: 10}\n  - {kind: cosine, duration: -1}\n", "f.yaml")
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.col, issue.path) == ("f.yaml", 4, 30, "lr[1].duration")


def test_large_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "w") as fh:
        fh.write(HEAD + "lr: 0.1\n# " + "x" * (50 << 20) + "\n")
    with pytest.raises(SpecError, match=r"big.yaml:1:1: file is 50.0 MiB; schedspec refuses specs over 1 MiB"):
        schedspec.load(path)


def test_alias_bomb_is_refused():
    bomb = "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(SpecError, match="too large: more than 100000 values"):
        schedspec.loads(bomb)


# ------------------------------------------------------------------------------------------------- YAML 1.2
def test_yaml_12_scalars():
    s = schedspec.loads(HEAD + "vars: {a: 1e-3, b: 0o17, c: 0x1f, d: 1.5E+2}\nlr: [{kind: constant, value: $a, duration: $b}, {kind: constant, value: $d, duration: $c}]\n")
    v = s.program.vars
    assert v["a"].number == (0.001,) and v["b"].steps == (15,) and v["c"].steps == (31,) and v["d"].number == (150.0,)


# ------------------------------------------------------------------------------------------------- durations
@pytest.mark.parametrize(
    "head, duration, steps",
    [
        ("steps_per_epoch: 4\n", "1.5ep", 6),
        ("steps_per_epoch: 4\n", "2 epochs", 8),
        ("", "300st", 300),
        ("", "300 steps", 300),
        ("", "1e3", 1000),
        ("total: 2000\n", "10%", 200),
        ("steps_per_epoch: 10\ntotal: 20ep\n", "2.5%", 5),
        ("interval: epoch\nsteps_per_epoch: 100\n", "300st", 3),
        ("interval: epoch\n", "7", 7),
    ],
)
def test_durations_resolve_to_whole_interval_units(head, duration, steps):
    s = schedspec.loads(HEAD + head + f"lr: {{kind: linear, start: 0, end: 1, duration: {duration}}}\n")
    assert s.program.hparams["lr"].duration == steps
    assert isinstance(s.program.hparams["lr"].duration, int)


def test_epoch_interval_rejects_partial_epochs():
    assert problems(HEAD + "interval: epoch\nsteps_per_epoch: 100\nlr: {kind: linear, start: 0, end: 1, duration: 250st}\n") == [
        "s.yaml:4:48: duration '250st' is 2.5 epochs, not a whole number of epochs; never rounded: choose a value "
        "that divides evenly"
    ]


def test_last_phase_runs_to_total_and_start_carries_over():
    s = schedspec.loads(HEAD + "total: 100\nlr:\n  - {kind: linear, duration: 10, start: 0, end: 0.5}\n  - {kind: cosine, end: 0}\n")
    seq = s.program.hparams["lr"]
    assert isinstance(seq, ir.Sequence)
    assert seq.parts[1].start == 0.5 and seq.parts[1].duration == 90 and seq.duration == 100


def test_pydantic_fields_all_have_descriptions():
    missing = []
    for model in (*spec.KINDS.values(), spec.Document):
        for name, info in model.model_fields.items():
            if not info.description:
                missing.append(f"{model.__name__}.{name}")
    assert not missing


# ------------------------------------------------------------------------------------------------- warnings
def warnings_of(text: str) -> list[str]:
    return [str(w) for w in schedspec.loads(text, "w.yaml").warnings]


def test_warning_on_jump():
    assert warnings_of(HEAD + "lr:\n  - {kind: constant, value: 0.1, duration: 10}\n  - {kind: constant, value: 0.01}\n") == [
        "w.yaml:4:5: jump from 0.1 to 0.01 at the start of this phase; omit `start` to continue from the previous value"
    ]


def test_warning_on_schedule_ending_before_total():
    assert warnings_of(HEAD + "total: 100\nlr: {kind: cosine, start: 0.1, duration: 50}\n") == [
        "w.yaml:3:5: the `lr` schedule ends at step 50, before `total` (step 100); it holds its final value after that"
    ]


def test_warning_on_inverted_warmup():
    assert warnings_of(HEAD + "lr:\n  - {kind: linear, duration: 10, start: 0.1, end: 0.01}\n  - {kind: cosine, duration: 10}\n") == [
        "w.yaml:3:5: this looks like a warmup (a first `linear` phase), but its end 0.01 is below its start 0.1; "
        "swap `start` and `end` if it should rise"
    ]


def test_no_warnings_for_a_clean_spec():
    assert warnings_of(HEAD + "total: 100\nlr:\n  - {kind: linear, duration: 10, start: 0, end: 0.1}\n  - {kind: cosine}\n") == []


# ------------------------------------------------------------------------------------------------- fingerprint
def fp(text: str) -> str:
    return schedspec.loads(HEAD + text).fingerprint


def test_same_meaning_same_fingerprint():
    base = fp("lr:\n  - {kind: linear, duration: 500, start: 0, end: 0.1}\n  - {kind: cosine, start: 0.1, end: 0, duration: 4500}\n")
    assert base == fp("steps_per_epoch: 100\nvars: {peak: 0.1}\nlr:\n  - {kind: linear, duration: 5ep, start: 0.0, end: $peak}\n  - {kind: cosine, duration: 45ep}\n")
    assert base == fp("total: 5000\nlr:\n  - {kind: linear, duration: 10%, start: 0, end: 0.1}\n  - [{kind: cosine, end: 0.0, exponent: 1}]\n")
    assert base != fp("lr:\n  - {kind: linear, duration: 500, start: 0, end: 0.1}\n  - {kind: cosine, start: 0.1, end: 0, duration: 4501}\n")
    assert base != fp("lr:\n  - {kind: linear, duration: 500, start: 0, end: 0.2}\n  - {kind: cosine, end: 0, duration: 4500}\n")


def test_fingerprint_is_short_hex_and_shown_by_check(capsys):
    from schedspec.cli import main

    value = schedspec.load("examples/gpt-warmup-cosine.yaml").fingerprint
    assert len(value) == 12 and int(value, 16) >= 0
    assert main(["check", "examples/gpt-warmup-cosine.yaml"]) == 0
    assert f"fingerprint {value}" in capsys.readouterr().out
