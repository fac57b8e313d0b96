"""The torch param-group rule (README, "Other hyperparameters and parameter groups"), on its plain-Python
definition (schedspec/_param_groups.py, shared by to_torch and the emitted torch modules). Every expected factor
is worked by hand from the README's bullets; the rule on real torch optimizers is tests/test_torch_groups_resume.py
and tests/test_timm.py. Written to kill the mutants of schedspec/_param_groups.py (issue 14)."""

from __future__ import annotations

import math

import pytest

from schedspec import _param_groups as pg


def test_a_group_built_with_the_optimizers_lr_gets_the_documents_value_and_others_their_ratio():
    # SGD([backbone lr 1e-4, head (no lr: defaults 1e-3)], lr=1e-3): head 1.0, backbone 0.1 (README)
    ratios, problem = pg.lr_ratios(1e-3, [1e-4, 1e-3], [0, 1])
    assert problem is None
    assert ratios == [1e-4 / 1e-3, 1.0]
    # the same in the other order: the factors depend on the set, never on the order
    assert pg.lr_ratios(1e-3, [1e-3, 1e-4], [0, 1]) == ([1.0, 1e-4 / 1e-3], None)


def test_groups_in_a_spec_group_get_a_placeholder_factor_of_one():
    ratios, problem = pg.lr_ratios(1e-3, [5.0, 1e-4, 1e-3], [1, 2])
    assert problem is None and ratios[0] == 1.0 and ratios[1] == 1e-4 / 1e-3 and ratios[2] == 1.0
    assert pg.lr_ratios(1e-3, [5.0, 7.0], []) == ([1.0, 1.0], None)  # no group follows the document


def test_one_same_lr_none_the_optimizers_gives_every_group_the_documents_value():
    # SGD([{"params": p, "lr": 0.1}]) where defaults["lr"] is torch's 1e-3: L is 0.1, factor exactly 1
    assert pg.reference_lr(1e-3, [0.1, 0.1], [0, 1]) == (0.1, None)
    assert pg.lr_ratios(1e-3, [0.1, 0.1], [0, 1]) == ([1.0, 1.0], None)
    assert pg.lr_ratios(None, [0.1], [0]) == ([1.0], None)  # an optimizer without an lr of its own


def test_different_lrs_none_the_optimizers_are_ambiguous_and_say_how_to_fix_it():
    ratios, problem = pg.lr_ratios(1e-3, [0.1, 0.3, 9.0, 0.2], [0, 1, 3])
    assert ratios == [1.0, 1.0, 1.0, 1.0]
    assert problem == (
        "the param groups that follow the document's lr were built with different lrs (0: 0.1, 1: 0.3, 3: 0.2) "
        "and none with the optimizer's lr (defaults['lr'] = 0.001), so their scale is ambiguous: group g gets "
        "value(k) * lr_g / defaults['lr']. Build the optimizer with lr= the lr of the param group that gets "
        "the spec's values exactly (e.g. SGD(param_groups, lr=0.3)), or name the param groups "
        "and give them spec groups (groups: {name: {scale: ...}})"
    )
    ref, problem = pg.reference_lr(None, [0.1, 0.2], [0, 1])
    assert ref is None and "(defaults['lr'] = None)" in problem


def test_the_optimizers_lr_wins_when_one_group_was_built_with_it():
    assert pg.reference_lr(0.2, [0.1, 0.2], [0, 1]) == (0.2, None)
    assert pg.reference_lr(0.1, [0.1, 0.2, 0.3], [0, 1, 2]) == (0.1, None)
    assert pg.lr_ratios(0.2, [0.1, 0.2], [0, 1]) == ([0.1 / 0.2, 1.0], None)


def test_a_zero_optimizer_lr():
    assert pg.lr_ratios(0.0, [0.0, 0.0], [0, 1]) == ([1.0, 1.0], None)  # all zero: nothing to scale
    ratios, problem = pg.lr_ratios(0.0, [0.0, 0.5], [0, 1])
    assert ratios == [1.0, 1.0]
    assert problem == ("param group 1 was built with lr 0.5 but the optimizer's lr is 0, so its scale "
                       "lr_g / defaults['lr'] is infinite: build the optimizer with a non-zero lr")


def test_lr_scales():
    assert pg.lr_scales([{"lr": 1.0}, {}]) is None
    assert pg.lr_scales([{"lr_scale": 0.5}, {}, {"lr_scale": 0}]) == [0.5, 1.0, 0.0]
    assert pg.lr_scales([{}, {"lr_scale": 2}]) == [1.0, 2.0]


@pytest.mark.parametrize("bad", [True, "0.5", b"1", -0.25, math.inf, -math.inf, math.nan, None, [1.0, 2.0]])
def test_a_bad_lr_scale_is_refused(bad):
    with pytest.raises(ValueError) as err:
        pg.lr_scales([{"lr_scale": 1.0}, {"lr_scale": bad}])
    assert str(err.value) == (f"param group 1 has lr_scale={bad!r}: timm's per-group lr factor "
                              "(lr = value * lr_scale) must be a finite number >= 0")


def test_hparam_key_and_set_hparam():
    assert pg.hparam_key("beta1") == "betas" and pg.hparam_key("beta2") == "betas"
    assert pg.hparam_key("momentum") == "momentum" and pg.hparam_key("weight_decay") == "weight_decay"
    group = {"betas": (0.9, 0.999), "momentum": 0.0}
    pg.set_hparam(group, "beta1", 0.8)
    assert group["betas"] == (0.8, 0.999)
    pg.set_hparam(group, "beta2", 0.95)
    assert group["betas"] == (0.8, 0.95)
    pg.set_hparam(group, "momentum", 0.5)
    assert group == {"betas": (0.8, 0.95), "momentum": 0.5}
