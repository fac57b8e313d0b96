"""Every IR node carries its source path, so every error is positioned, framework kinds included.

A node desugared from a framework kind (``torch.ReduceLROnPlateau`` -> ``plateau``) carries that kind's path: a
target that refuses it names the line and column of the ``torch.ReduceLROnPlateau`` mapping, as it does for a
neutral ``plateau``. The path is not part of what a node means: equality, hashing and the fingerprint leave it out.
"""

from __future__ import annotations

import dataclasses
import glob
import os

import pytest

import schedspec
from schedspec import ir
from schedspec.dialects import KINDS as FRAMEWORK_KINDS
from schedspec.language import NEUTRAL_KINDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))

# a framework plateau as the second phase (line 6, column 5) and as the whole schedule (line 4, column 5)
IN_SEQUENCE = """schedspec: 1
interval: epoch
steps_per_epoch: 100
lr:
  - {kind: linear, start: 0.0, end: 0.1, duration: 5}
  - {kind: torch.ReduceLROnPlateau, monitor: val_loss, patience: 2}
"""
ALONE = """schedspec: 1
interval: epoch
steps_per_epoch: 100
lr: {kind: torch.ReduceLROnPlateau, lr: 0.1, monitor: val_loss}
"""
NEUTRAL = IN_SEQUENCE.replace("torch.ReduceLROnPlateau, monitor: val_loss, patience: 2", "plateau, monitor: val_loss, patience: 2")
CASES = {"in a sequence": (IN_SEQUENCE, "p.yaml:6:5: lr[1]: the `torch.ReduceLROnPlateau` kind"),
         "alone": (ALONE, "p.yaml:4:5: lr: the `torch.ReduceLROnPlateau` kind"),
         "neutral": (NEUTRAL, "p.yaml:6:5: lr[1]: the `plateau` kind")}  # fmt: skip


def _refusal(exc: schedspec.SpecError) -> str:
    assert len(exc.issues) == 1, exc
    return str(exc.issues[0])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("target", ["keras", "optax"])
def test_emit_refuses_a_framework_plateau_at_its_position(case, target):
    text, where = CASES[case]
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.emit(schedspec.loads(text, "p.yaml"), target)
    message = _refusal(info.value)
    assert message.startswith(where + f" is not supported by `schedspec compile --to {target}` ({target})"), message


@pytest.mark.parametrize("case", CASES)
def test_to_optax_refuses_a_framework_plateau_at_its_position(case):
    pytest.importorskip("optax")
    text, where = CASES[case]
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.to_optax(schedspec.loads(text, "p.yaml"))
    assert _refusal(info.value).startswith(where + " is not supported by to_optax (optax)"), info.value


@pytest.mark.parametrize("case", CASES)
def test_to_keras_positions_a_framework_plateau_it_cannot_size(case):
    """to_keras runs plateaus (its callback takes the reports), but not one that never ends without max_reports."""
    pytest.importorskip("keras")
    text, where = CASES[case]
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.to_keras(schedspec.loads(text, "p.yaml"))
    assert _refusal(info.value).startswith(where.split(" the ")[0] + " this `plateau` never ends"), info.value


def test_compile_refuses_a_framework_plateau_with_file_line_col(tmp_path, capsys):
    from schedspec.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(IN_SEQUENCE, encoding="utf-8")
    assert main(["compile", str(path), "--to", "keras"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:6:5: lr[1]: the `torch.ReduceLROnPlateau` kind is not supported by `schedspec compile --to keras`" in err


@pytest.mark.parametrize("case", ["in a sequence", "alone"])
def test_missing_reports_of_a_framework_plateau_are_positioned(case):
    text, where = CASES[case]
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.evaluate(schedspec.loads(text, "p.yaml"), [0, 10, 20])
    assert str(info.value.issues[0]).startswith(where.split(" the ")[0] + " this `plateau` monitors 'val_loss'"), info.value


def _trees(program: ir.Program) -> list[ir.Node]:
    return [*program.hparams.values(), *(n for g in program.groups.values() for n in g.values())]


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_node_of_every_example_points_into_its_document(path):
    spec = schedspec.load(path)
    nodes = list(ir.walk(tuple(_trees(spec.program))))
    assert nodes
    for node in nodes:
        assert node.path, (path, node)
        value = spec.doc.get(node.path)
        assert value is not None, (path, node.path)
        line, col = spec.doc.where(node.path)
        assert line is not None and col is not None
        if isinstance(value, dict) and value.get("kind") in FRAMEWORK_KINDS:
            continue  # desugared from a framework kind: positioned at it
        if isinstance(node, ir.Sequence):
            assert isinstance(value, list)
        elif node.path[-1] == "scale" and node.path[0] == "groups":
            assert isinstance(node, ir.Scale)  # a group's `scale`, folded in as Scale(scale, lr)
        elif isinstance(value, dict):
            written = value["kind"]
            assert written in NEUTRAL_KINDS
            assert ir.kind(node) == {"polynomial": "polynomial_cycle" if value.get("cycle") else "polynomial"}.get(
                written, written)
        else:
            assert isinstance(node, ir.Constant)  # a bare number (or $var): a constant


def test_framework_nodes_carry_the_framework_kind_path():
    spec = schedspec.loads(IN_SEQUENCE, "p.yaml")
    node = spec.program.hparams["lr"]
    assert [(ir.kind(n), n.path) for n in ir.walk(node)] == [
        ("sequence", ("lr",)), ("linear", ("lr", 0)), ("plateau", ("lr", 1))]  # fmt: skip
    torch_native = schedspec.load(os.path.join(ROOT, "examples", "torch-native.yaml"))
    for n in ir.walk(torch_native.program.hparams["lr"]):
        kind = (torch_native.doc.get(n.path) or {}).get("kind") if isinstance(torch_native.doc.get(n.path), dict) else None
        if n.path != ("lr",):
            assert kind in FRAMEWORK_KINDS, (n.path, kind)


def test_the_source_path_is_not_part_of_the_meaning():
    spec = schedspec.loads(IN_SEQUENCE, "p.yaml")
    node = spec.program.hparams["lr"]
    moved = ir.with_path(node, ("elsewhere",))
    assert all(n.path == ("elsewhere",) for n in ir.walk(moved))
    assert moved == node and hash(moved) == hash(node) and repr(moved) == repr(node)
    assert ir.to_json(moved) == ir.to_json(node)
    again = schedspec.loads(NEUTRAL.replace("lr:\n", "lr:\n  # a comment moves every line\n"), "q.yaml")
    assert again.fingerprint == schedspec.loads(NEUTRAL, "p.yaml").fingerprint
    assert "path" not in ir.canonical(spec.program)


def _reference_walk(x):
    """The hand-written walk the walker replaced (tests/helpers.py before): pre-order, carried starts included."""
    if isinstance(x, ir.Final):
        yield from _reference_walk(x.node)
    elif isinstance(x, ir.Node):
        yield x
        for f in dataclasses.fields(x):
            if f.name != "path":
                yield from _reference_walk(getattr(x, f.name))
    elif isinstance(x, tuple):
        for v in x:
            yield from _reference_walk(v)


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_walk_and_map_params_agree_with_a_plain_recursion(path):
    spec = schedspec.load(path)
    for tree in _trees(spec.program):
        assert [id(n) for n in ir.walk(tree)] == [id(n) for n in _reference_walk(tree)]
        assert ir.map_params(tree, lambda p: p) is tree  # nothing changed: the same object
        doubled = ir.map_params(tree, lambda p: p * 2 if isinstance(p, float) else p)
        assert [ir.kind(n) for n in ir.walk(doubled)] == [ir.kind(n) for n in ir.walk(tree)]
        assert [n.path for n in ir.walk(doubled)] == [n.path for n in ir.walk(tree)]
