"""torch param groups: the factor each one puts on the document's lr, and how a hyperparameter is set on one.

These definitions are shared by :mod:`schedspec.adapters.torch` and, copied verbatim by
:mod:`schedspec._emit._source`, by every emitted torch module, so both follow the same rule bit for bit. They
are plain Python (no import at all).

The rule (README, "Other hyperparameters and parameter groups"):

* a param group that belongs to one of the spec's ``groups:`` gets exactly that group's schedules; the lr it was
  built with is not used;
* every other param group ``g`` follows the document's lr, scaled by ``lr_g / L``: ``lr_g`` is the lr it was
  built with (torch's ``initial_lr``, which torch sets from ``lr`` when the first scheduler is built) and ``L`` is
  the optimizer's own lr, ``optimizer.defaults["lr"]``, the lr torch gives a param group that names none. So a
  group built without an lr of its own gets exactly the document's lr, and one built with ``lr=1e-4`` in
  ``SGD(groups, lr=1e-3)`` gets 0.1 x the document's lr (torch's convention for per-group lrs);
* when none of those param groups was built with ``defaults["lr"]`` but they were all built with one same lr
  (``SGD([{"params": p, "lr": 0.1}])``), ``L`` is that lr: they all get exactly the document's lr;
* otherwise (built with different lrs, none of them ``defaults["lr"]``) the factor is ambiguous and refused;
* last, a param group that carries ``lr_scale`` (timm's layer decay: ``param_groups_layer_decay`` puts it in every
  group it builds) gets that lr times ``lr_scale``, as timm's schedulers set ``lr = value * lr_scale``
  (``timm/scheduler/scheduler.py``, ``update_groups``). ``lr_scale`` is never part of ``lr_g``: timm builds those
  groups without an lr of their own (all have ``lr_g = L``, factor 1), and its schedulers' base is ``initial_lr``,
  never an lr they wrote. Folding the scale into the groups' lrs instead (``lr = L * lr_scale`` per group, the
  obvious workaround while ``lr_scale`` was ignored) gave the head group ``1 / lr_scale_0`` times its lr under the
  former rule, which divided by param group 0's lr (timm lists the embedding layer, the smallest scale, first:
  128x with ``layer_decay=0.5`` over 8 layers); with ``lr_scale`` honoured it would apply the scale twice, as
  timm's own schedulers would.

The factors depend on the set of param groups, never on their order, and on nothing saved in a checkpoint except
the built lrs (``base_lrs``): a resumed scheduler computes the same factors in any order of loading.
"""


def lr_ratios(defaults_lr, built, follows):
    """The factor on the document's lr of each param group, and why there is none when the rule gives none.

    Args:
        defaults_lr: ``optimizer.defaults.get("lr")``: the optimizer's own lr (None when it has none).
        built: per param group, the lr it was built with (``initial_lr``, or ``lr`` before any scheduler).
        follows: the indices of the param groups that follow the document's lr (not in a spec group).

    Returns:
        ``(ratios, problem)``: ``ratios[g] = lr_g / L`` for the groups in ``follows`` and 1.0 for the others
        (which get their spec group's schedule); ``problem`` is None, or a message saying why no ``L`` fits (the
        ratios are then 1.0 placeholders, never used for an update).
    """
    ratios = [1.0] * len(built)
    lrs = {g: float(built[g]) for g in follows}
    if not lrs:
        return ratios, None
    ref, problem = reference_lr(defaults_lr, built, follows)
    if problem:
        return ratios, problem
    for g, lr in lrs.items():
        if ref != 0.0:
            ratios[g] = lr / ref
        elif lr != 0.0:
            return [1.0] * len(built), (
                f"param group {g} was built with lr {lr!r} but the optimizer's lr is 0, so its scale "
                "lr_g / defaults['lr'] is infinite: build the optimizer with a non-zero lr"
            )
    return ratios, None


def reference_lr(defaults_lr, built, follows):
    """``(L, problem)``: the lr whose param groups get exactly the document's value (see :func:`lr_ratios`).

    ``L`` is ``defaults_lr`` when one of the groups in ``follows`` was built with it, else the one lr they were all
    built with; when they were built with different lrs, none of them ``defaults_lr``, ``L`` is None and
    ``problem`` says why and how to fix it.
    """
    lrs = {g: float(built[g]) for g in follows}
    values = sorted(set(lrs.values()))
    default = None if defaults_lr is None else float(defaults_lr)
    if default is not None and default in values:
        return default, None
    if len(values) == 1:
        return values[0], None
    groups = ", ".join(f"{g}: {lr!r}" for g, lr in sorted(lrs.items()))
    return None, (
        f"the param groups that follow the document's lr were built with different lrs ({groups}) and none "
        f"with the optimizer's lr (defaults['lr'] = {default!r}), so their scale is ambiguous: group g gets "
        "value(k) * lr_g / defaults['lr']. Build the optimizer with lr= the lr of the param group that gets "
        f"the spec's values exactly (e.g. SGD(param_groups, lr={values[-1]!r})), or name the param groups "
        "and give them spec groups (groups: {name: {scale: ...}})"
    )


def lr_scales(param_groups):
    """Per param group, its ``lr_scale`` (1.0 for a group without one), or None when no group carries one.

    ``lr_scale`` is timm's per-group lr factor (layer decay): the last factor of the param-group rule, applied
    to the lr the group would get without it. It is read whenever the lrs are computed, as timm does, so it
    follows the param groups as they are (also after ``optimizer.load_state_dict``).

    Raises:
        ValueError: an ``lr_scale`` that is not a finite number >= 0 (a bool or a string is not a number).
    """
    for group in param_groups:
        if "lr_scale" in group:
            break
    else:
        return None
    scales = []
    for g, group in enumerate(param_groups):
        scale = group.get("lr_scale", 1.0)
        try:
            value = None if isinstance(scale, (bool, str, bytes)) else float(scale)
        except (TypeError, ValueError, RuntimeError):  # (RuntimeError: a tensor of several elements)
            value = None
        if value is None or value - value != 0.0 or value < 0.0:
            raise ValueError(
                f"param group {g} has lr_scale={scale!r}: timm's per-group lr factor (lr = value * lr_scale) "
                "must be a finite number >= 0"
            )
        scales.append(value)
    return scales


def hparam_key(name):
    """The param-group key a hyperparameter schedule sets: ``beta1``/``beta2`` are in ``betas``."""
    return "betas" if name in ("beta1", "beta2") else name


def set_hparam(group, name, value):
    """Set hyperparameter ``name`` of a torch param group (``beta1``/``beta2``: one item of the ``betas`` pair)."""
    if name in ("beta1", "beta2"):
        b0, b1 = group["betas"]
        group["betas"] = (value, b1) if name == "beta1" else (b0, value)
    else:
        group[name] = value
