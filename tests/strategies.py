"""Hypothesis strategies for random, VALID schedspec v1 spec dicts (no plateau, scalar vars only).

    specs()            a whole document: {"schedspec": 1, "lr": ..., maybe "vars", "steps_per_epoch"}
    phase_list()       a sequence of 1-4 phases (the value of `lr`)
    phase(need_start)  one phase of a random kind (``need_start``: it must give its own start)

Every generated spec loads without error: values are non-negative, every phase but the last has a duration
(the last may omit it when its kind needs no length), the first phase gives its start, combinators' parts give
theirs, one-cycle's pct_start*N > 1 (and < (N+1)/2 with three_phase), milestones ascend, piecewise points start
at 0 and ascend, clip's min <= max. No `total` is set, so nothing depends on running to it.
Durations stay short (each phase <= 60 units) so a whole schedule can be evaluated densely.
"""

from __future__ import annotations

from hypothesis import strategies as st

# ------------------------------------------------------------------ leaves
# rounded to 1e-6: no subnormal or near-underflow values (XLA flushes subnormals to zero; not a schedule question)
values = st.sampled_from([0.0, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0]) | st.floats(
    min_value=0.0, max_value=2.0, allow_nan=False, allow_infinity=False
).map(lambda x: round(x, 6))
gammas = st.sampled_from([0.1, 0.5, 0.9, 0.97, 0.99, 1.01]) | st.floats(min_value=0.5, max_value=1.02).map(lambda x: round(x, 6))
durations = st.integers(min_value=1, max_value=60)


@st.composite
def phase(draw, need_start: bool, may_be_open: bool = False, depth: int = 0):
    """One phase dict. ``need_start``: it must give its start (first phase, or inside product/scale)."""
    kinds = ["constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "piecewise",
             "inverse_time", "inverse_sqrt", "cyclic", "onecycle"]  # fmt: skip
    if depth < 2:
        kinds += ["repeat", "product", "scale", "clip"]
    kind = draw(st.sampled_from(kinds))
    m: dict = {"kind": kind}

    def start(field="start"):
        if need_start or draw(st.booleans()):
            m[field] = draw(values)

    open_ok = may_be_open and kind in ("constant", "exponential", "step", "multistep", "piecewise", "inverse_time",
                                       "inverse_sqrt", "cyclic")  # fmt: skip
    if kind == "constant":
        start("value")
    elif kind == "linear":
        start()
        m["end"] = draw(values)
    elif kind == "cosine":
        start()
        if draw(st.booleans()):
            m["end"] = draw(values)
        if draw(st.booleans()):
            m["exponent"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    elif kind == "polynomial":
        start()
        if draw(st.booleans()):
            m["end"] = draw(values)
        if draw(st.booleans()):
            m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    elif kind == "exponential":
        start()
        g = draw(gammas)
        m["gamma"] = g
        if draw(st.booleans()):
            m["every"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            m["staircase"] = True
        if g != 1 and draw(st.booleans()):
            m["end"] = draw(values)
    elif kind == "step":
        start()
        m["every"] = draw(st.integers(1, 20))
        if draw(st.booleans()):
            m["gamma"] = draw(gammas)
    elif kind == "multistep":
        start()
        m["milestones"] = sorted(draw(st.lists(st.integers(1, 60), min_size=1, max_size=4)))  # repeats allowed
        if draw(st.booleans()):
            m["gamma"] = draw(gammas)
    elif kind == "piecewise":
        ats = sorted(draw(st.sets(st.integers(1, 60), max_size=4)))
        m["points"] = [[0, draw(values)]] + [[a, draw(values)] for a in ats]
        m["interpolate"] = draw(st.sampled_from(["constant", "linear", "cosine"]))
    elif kind == "inverse_time":
        start()
        m["rate"] = draw(values)
        if draw(st.booleans()):
            m["every"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            m["staircase"] = True
    elif kind == "inverse_sqrt":
        start()
        m["timescale"] = draw(st.integers(1, 30))
    elif kind == "cyclic":
        m["low"] = draw(values)
        m["high"] = draw(values)
        m["up"] = draw(st.integers(1, 15))
        if draw(st.booleans()):
            m["down"] = draw(st.integers(1, 15))
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        m["mode"] = mode
        if mode == "exp_range":
            m["gamma"] = draw(st.sampled_from([0.9, 0.97, 0.99, 1.0]))
    elif kind == "onecycle":
        N = draw(st.integers(4, 60))
        three = draw(st.booleans())
        # pct*N > 1; with three_phase also 2*pct*N - 2 < N - 1
        hi = min(0.95, (N + 1) / (2 * N) - 1e-3) if three else 0.95
        lo = 1.0 / N + 1e-3
        m["peak"] = draw(values)
        m["duration"] = N
        m["pct_start"] = draw(st.floats(lo, hi)) if lo < hi else 0.5
        if draw(st.booleans()):
            m["div_factor"] = draw(st.sampled_from([1.0, 10.0, 25.0]))
        if draw(st.booleans()):
            m["final_div_factor"] = draw(st.sampled_from([1.0, 100.0, 1e4]))
        m["anneal"] = draw(st.sampled_from(["cos", "linear"]))
        if three:
            m["three_phase"] = True
        return m
    elif kind == "repeat":
        of = draw(phase_list(need_start=need_start, depth=depth + 1, closed=True, max_size=2))
        m["of"] = of if len(of) > 1 else of[0]
        mult = draw(st.sampled_from([1.0, 1.0, 2.0, 1.5]))
        if mult != 1:
            m["mult"] = mult
        if draw(st.booleans()):
            m["times"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            m["decay"] = draw(st.sampled_from([0.5, 0.9, 1.0]))
        if not may_be_open and "times" not in m:
            m["times"] = draw(st.integers(1, 3))
        return m
    elif kind == "product":
        m["of"] = [draw(phase(True, may_be_open=False, depth=depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        return m
    elif kind == "scale":
        m["by"] = draw(values)
        m["of"] = draw(phase(True, may_be_open=False, depth=depth + 1))
        return m
    elif kind == "clip":
        a, b = draw(values), draw(values)
        if draw(st.booleans()):
            m["min"] = min(a, b)
        if draw(st.booleans()) or "min" not in m:
            m["max"] = max(a, b)
        m["of"] = draw(phase(need_start, may_be_open=False, depth=depth + 1))
        return m
    if not (open_ok and draw(st.booleans())):
        m["duration"] = draw(durations)
    return m


@st.composite
def phase_list(draw, need_start: bool = True, depth: int = 0, closed: bool = False, max_size: int = 4):
    """1..max_size phases; the first gives its start when ``need_start``; only the last may be open."""
    n = draw(st.integers(1, max_size))
    out = []
    for i in range(n):
        last = i == n - 1
        if last and i > 0 and not closed and draw(st.integers(0, 9)) == 0:
            out.append(draw(values))  # a bare number: a constant forever
        else:
            out.append(draw(phase(need_start and i == 0, may_be_open=last and not closed, depth=depth)))
    return out


phase_lists = phase_list


@st.composite
def specs(draw, with_vars: bool = True):
    """A whole document; sometimes a number in it is replaced by a scalar `$var`, or a duration by a duration var."""
    lr = draw(phase_list())
    doc: dict = {"schedspec": 1, "lr": lr if len(lr) > 1 or draw(st.booleans()) else lr[0]}
    if with_vars and draw(st.booleans()):
        first = lr[0]
        numeric = [f for f in ("start", "value", "end", "peak", "low", "high", "by") if isinstance(first.get(f), float)]
        if numeric:
            f = draw(st.sampled_from(numeric))
            doc["vars"] = {"v": first[f]}
            first[f] = "$v"
        if isinstance(first.get("duration"), int) and first["kind"] != "onecycle" and draw(st.booleans()):
            doc.setdefault("vars", {})["w"] = first["duration"]
            first["duration"] = "$w"
    if draw(st.booleans()):
        # durations written in units: 'Nst', or epochs ('Mep', '1.5ep') when steps_per_epoch divides them
        spe = draw(st.sampled_from([1, 2, 5]))
        doc["steps_per_epoch"] = spe
        for p in lr:
            d = p.get("duration") if isinstance(p, dict) else None
            if isinstance(d, int) and draw(st.booleans()):
                if d % spe == 0:
                    p["duration"] = f"{d // spe}ep"
                elif (2 * d) % spe == 0:
                    p["duration"] = f"{d / spe}ep"
                else:
                    p["duration"] = f"{d}st"
    return doc
