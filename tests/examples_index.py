"""Every example of examples/, as the examples x targets harness (tests/test_examples_targets.py) and the snapshot
guard (tests/test_snapshots.py) see them: the specs at the top level and in examples/dialects/, and the frameworks'
own config files of examples/frameworks/ read as ``schedspec translate --from`` reads them (an MMEngine config
with a ``steps_per_epoch``, a detectron2 YAML through its ``_BASE_`` chain).

Names are paths relative to examples/ (``bert.yaml``, ``dialects/hf-run-clm.yaml``,
``frameworks/mmdet/schedule_1x.yaml``); :func:`snapshot_stem` turns one into a flat file name."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"

# framework config -> (library, options of `schedspec translate --from`): an MMEngine config does not hold
# len(train_dataloader); a short epoch (60 iterations) keeps the real MMEngine run of the harness's reference cheap
# (the same config; tests/test_translate_from.py checks it at COCO's 7330 too)
FRAMEWORK_EXAMPLES = {
    "frameworks/mmdet/schedule_1x.yaml": ("mmengine", {"steps_per_epoch": 60}),
    "frameworks/detectron2/COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml": ("detectron2", {}),
}
SPEC_EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.glob("*.yaml")) + sorted(
    f"dialects/{p.name}" for p in (EXAMPLES_DIR / "dialects").glob("*.yaml")
)
ALL_EXAMPLES = SPEC_EXAMPLES + sorted(FRAMEWORK_EXAMPLES)


def framework_files() -> list[str]:
    """Every framework config under examples/frameworks/ that is not only a ``_BASE_`` of another (nor Python)."""
    out = []
    for p in sorted((EXAMPLES_DIR / "frameworks").rglob("*.yaml")):
        name = p.relative_to(EXAMPLES_DIR).as_posix()
        if name != "frameworks/detectron2/Base-RCNN-FPN.yaml":  # the _BASE_ of faster_rcnn_R_50_FPN_1x.yaml
            out.append(name)
    return out


def load_example(name: str, relative: bool = False):
    """The spec of example ``name`` (a framework config translated as ``schedspec translate --from`` does);
    ``relative``: the file named as users see it (examples/...), for messages that must not depend on the
    checkout's path (run from the repository root)."""
    import schedspec

    path = (Path("examples") if relative else EXAMPLES_DIR) / name
    if name not in FRAMEWORK_EXAMPLES:
        return schedspec.load(path)
    from schedspec.cli.translate import IMPORTERS

    library, options = FRAMEWORK_EXAMPLES[name]
    return IMPORTERS[library](str(path), dict(options))


def snapshot_stem(name: str) -> str:
    """``bert.yaml`` -> ``bert``; ``dialects/hf-run-clm.yaml`` -> ``dialects-hf-run-clm``."""
    return name[: -len(".yaml")].replace("/", "-")
