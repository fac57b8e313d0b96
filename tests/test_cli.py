"""The CLI (check / eval / schema), the committed JSON Schema, the examples, and import hygiene."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

import schedspec
from schedspec.cli import main
from schedspec.cli.schema import schema_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "*.yaml")))


def run(*argv, cwd=ROOT):
    """Run the real console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "schedspec.cli", *argv], capture_output=True, text=True, cwd=cwd, timeout=120)


# ------------------------------------------------------------------------------------------------- schema
def test_committed_schema_is_current():
    committed = (ROOT / "schemas" / "schedspec-v1.schema.json").read_text()
    assert committed == schema_text(), "schemas/schedspec-v1.schema.json is stale: run `schedspec schema -o schemas/schedspec-v1.schema.json`"


def test_schema_command_writes_the_schema(tmp_path):
    out = tmp_path / "s.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["title"] == "schedspec v1"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).name)
def test_example_validates_against_json_schema_and_passes_check(path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads((ROOT / "schemas" / "schedspec-v1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(Path(path).read_text()), schema)
    assert main(["check", "--strict", path]) == 0
    out = capsys.readouterr()
    assert "fingerprint" in out.out and out.err == ""
    assert Path(path).read_text().startswith("# yaml-language-server: $schema=../schemas/schedspec-v1.schema.json\n# ")


def test_schema_rejects_what_the_loader_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schemas" / "schedspec-v1.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    bad = [
        {"schedspec": 1, "lr": {"kind": "cosin", "start": 1, "duration": 10}},
        {"schedspec": 1, "lr": {"kind": "cosine", "start": -1, "duration": 10}},
        {"schedspec": 1, "lr": {"kind": "cosine", "start": 1, "durtion": 10}},
        {"schedspec": 2, "lr": 0.1},
        {"schedspec": 1},
    ]
    for doc in bad:
        assert list(validator.iter_errors(doc)), doc
        with pytest.raises(schedspec.SpecError):
            schedspec.load(doc)


# ------------------------------------------------------------------------------------------------- check
def test_check_prints_phase_table(capsys):
    assert main(["check", str(ROOT / "examples" / "resnet50.yaml")]) == 0
    out = capsys.readouterr().out
    assert "interval step, steps_per_epoch 5005, total 450450 steps" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["0", "linear", "0", "25025", "0", "5", "0", "0.1"] in lines
    assert ["1", "multistep", "25025", "450450", "5", "90", "0.1", "0.0001"] in lines
    assert "min 0  max 0.1  (over steps 0..450450)" in out
    assert "momentum:" in out and "weight_decay:" in out


def test_check_exit_codes_and_stderr(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedspec: 1\nlr: {kind: cosine, start: -1, duration: 10}\n")
    r = run("check", str(bad))
    assert r.returncode == 1
    assert r.stderr == f"{bad}:2:27: `start`: must not be negative (got -1)\n"
    assert "Traceback" not in r.stderr
    warn = tmp_path / "warn.yaml"
    warn.write_text("schedspec: 1\ntotal: 100\nlr: {kind: cosine, start: 0.1, duration: 50}\n")
    assert run("check", str(warn)).returncode == 0
    strict = run("check", "--strict", str(warn))
    assert strict.returncode == 1 and "ends at step 50" in strict.stderr
    missing = run("check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "cannot read the file" in missing.stderr
    usage = run("check")
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_check_does_not_import_jax():
    code = (
        "import sys; from schedspec.cli import main; rc = main(['check', 'examples/gpt-warmup-cosine.yaml']);"
        "heavy = [m for m in ('jax', 'torch', 'keras', 'optax', 'matplotlib') if m in sys.modules];"
        "print(rc, heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "0 []", r.stdout + r.stderr


def test_import_schedspec_imports_no_framework():
    code = (
        "import sys, schedspec; schedspec.load('examples/resnet50.yaml');"
        "print([m for m in ('jax', 'torch', 'keras', 'optax', 'matplotlib') if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


# ------------------------------------------------------------------------------------------------- eval
def test_eval_csv_matches_evaluate():
    r = run("eval", "examples/gpt-warmup-cosine.yaml", "--at", "0:4001:1000")
    assert r.returncode == 0, r.stderr
    rows = [line.split(",") for line in r.stdout.strip().splitlines()]
    assert rows[0] == ["k", "lr"]
    ks = [int(x) for x, _ in rows[1:]]
    assert ks == [0, 1000, 2000, 3000, 4000]
    expected = schedspec.evaluate("examples/gpt-warmup-cosine.yaml", ks)
    assert [float(v) for _, v in rows[1:]] == expected.tolist()


def test_eval_json_sweep_and_set():
    r = run("eval", "examples/lr-sweep.yaml", "--at", "0:3", "--format", "json")
    data = json.loads(r.stdout)
    assert [m["vars"]["lr0"] for m in data["members"]] == [0.1, 0.01, 0.001, 0.0001]
    assert data["members"][1]["values"] == pytest.approx([0.01] * 3, rel=1e-7)
    r = run("eval", "examples/lr-sweep.yaml", "--at", "5:6", "--set", "lr0=0.5", "--format", "json")
    assert json.loads(r.stdout)["values"] == pytest.approx([0.5], rel=1e-7)
    r = run("eval", "examples/gpt-warmup-cosine.yaml", "--at", "1000:1001", "--set", "peak=[1e-3, 2e-3]", "--dtype", "float64")
    assert r.stdout.splitlines() == ["k,lr[peak=0.001],lr[peak=0.002]", "1000,0.0005,0.001"]


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["eval", "examples/gpt-warmup-cosine.yaml", "--at", "5:2"], 2, "--at expects A:B[:S] with 0 <= A < B and S > 0"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--at", "x"], 2, "--at expects A:B or A:B:S with whole numbers"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--set", "nope=1"], 1, "unknown var 'nope' (the spec defines: peak)"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--set", "peak"], 2, "--set expects NAME=VALUE"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--set", "peak=-1"], 1, "must not be negative"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--hparam", "momentum"], 2, "--hparam 'momentum': the spec has lr"),
        (["eval", "examples/exponential.yaml"], 2, "the schedule never ends and no `total` is set; give --at A:B"),
        (["eval", "examples/gpt-warmup-cosine.yaml", "--format", "xml"], 2, "invalid choice"),
    ],
)
def test_eval_usage_errors(argv, code, message):
    r = run(*argv)
    assert r.returncode == code, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------------------- --metrics
PLATEAU = "examples/warmup-plateau-cooldown.yaml"  # one val_loss report per 500 steps, 90 needed up to step 50000


def _reports(n: int) -> list[float]:
    return [round(2.0 - 0.1 * i, 3) if i < 8 else 1.2 for i in range(n)]


@pytest.mark.parametrize("fmt", ["lines", "csv", "json"])
def test_eval_metrics_file_feeds_the_plateau(fmt, tmp_path, capsys):
    from schedspec.cli import main

    reports = _reports(90)
    path = tmp_path / f"val_loss.{fmt}"
    if fmt == "lines":
        path.write_text("# val_loss per epoch\n" + "\n".join(map(repr, reports)) + "\n")
    elif fmt == "csv":
        path.write_text(", ".join(map(repr, reports[:45])) + ",\n" + ",".join(map(repr, reports[45:])) + "\n")
    else:
        path.write_text(json.dumps(reports))
    assert main(["eval", str(ROOT / PLATEAU), "--metrics", f"val_loss={path}", "--at", "0:50001:250",
                 "--dtype", "float64"]) == 0  # fmt: skip
    rows = [line.split(",") for line in capsys.readouterr().out.strip().splitlines()[1:]]
    ks = [int(k) for k, _ in rows]
    expected = schedspec.evaluate(ROOT / PLATEAU, ks, metrics={"val_loss": reports}, dtype="float64")
    assert [float(v) for _, v in rows] == expected.tolist()
    assert len(set(expected[10:180].tolist())) > 3  # the plateau reduced the lr several times


def test_eval_and_plot_metrics_errors_are_one_line(tmp_path, capsys):
    from schedspec.cli import main

    spec = str(ROOT / PLATEAU)
    good = tmp_path / "good.txt"
    good.write_text("\n".join(map(repr, _reports(90))))
    short = tmp_path / "short.txt"
    short.write_text("1.0\n0.9\n0.8\n")
    word = tmp_path / "word.txt"
    word.write_text("1.0\nnot-a-number\n")
    obj = tmp_path / "obj.json"
    obj.write_text('{"val_loss": [1.0]}')
    cases = [
        (["--metrics", f"val_loss={tmp_path / 'nope.txt'}"], 2, "cannot read the file: No such file or directory"),
        (["--metrics", f"val_loss={word}"], 2, f"--metrics val_loss={word}:2: 'not-a-number' is not a number"),
        (["--metrics", f"val_loss={obj}"], 2, "a JSON file must be a flat list of numbers"),
        (["--metrics", str(good)], 2, "--metrics expects NAME=FILE"),
        (["--metrics", f"val_loss={good}", "--metrics", f"val_loss={good}"], 2, "'val_loss' is given twice"),
        (["--metrics", f"val_loss={short}"], 1, "lr[1]: the --metrics val_loss file has 3 reports, but evaluating k "
                                                "up to 50000 needs 90"),
        ([], 1, "this `plateau` monitors 'val_loss': evaluating k up to 50000 needs 90 reports of it"),
    ]
    for extra, code, message in cases:
        assert main(["eval", spec, *extra]) == code, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (extra, err)
    assert main(["eval", spec]) == 1 and "pass --metrics val_loss=FILE" in capsys.readouterr().err
    assert main(["eval", spec, "--metrics", f"val_los={good}"]) == 1
    assert "no `plateau` of this spec monitors 'val_los'; did you mean 'val_loss'" in capsys.readouterr().err
    # plot: the same option
    assert main(["plot", spec, "--metrics", f"val_loss={good}", "--ascii", "--width", "80", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "plateau @2.5k: 0.1" in out and "cosine @45k" in out
    assert main(["plot", spec, "--metrics", f"val_loss={short}", "--ascii"]) == 1
    assert "the --metrics val_loss file has 3 reports" in capsys.readouterr().err
    assert main(["plot", spec, "--metrics", f"val_los={good}", "--ascii"]) == 2
    assert "no plateau of the plotted specs monitors 'val_los'; did you mean 'val_loss'" in capsys.readouterr().err


def test_a_refused_set_value_is_exit_1_named_by_its_path_not_positioned(tmp_path, capsys):
    """README: a `--set` value that is refused is named by its path (it is not in the file), exit 1."""
    from schedspec.cli import main

    spec = tmp_path / "o.yaml"
    spec.write_text("schedspec: 1\nvars: {p: 0.1}\nlr: $p\n")
    assert main(["check", str(spec), "--set", "p=1e39"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{spec}: vars.p: $p = 1e+39 is beyond the float32 range (largest 3.4028235e+38), where the float32 paths "
        "(evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a "
        "smaller number")
