"""actionrec.papers.msti: MSTI-Net Table 2's declared claims, the budgets' runs on the SynthActions recipe,
Table 2's analogue, and the input-support check."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from actionrec.experiments.params import budget_params
from actionrec.experiments.protocol import HOLDS, Claim, evaluate
from actionrec.models.msti_net import MSTI_NET_VARIANTS
from actionrec.papers.msti import (MSTI_BUDGETS, MSTI_CLAIMS, MSTI_CUSTOM, MSTI_VARIANT_PAPER, ORDER_BLIND,
                                   msti_blind_warning, msti_input_support, msti_runs, msti_table)
from actionrec.papers.synthactions import SYNTH_RECIPE, recipe_config
from actionrec.train import TrainConfig

PILOT_SEEDS = set(range(100, 200))  # pilots run on seeds 100+
ROOT = Path(__file__).resolve().parent.parent


def _custom_defaults(notebook: str) -> dict:
    """The parameters cell's budget-"custom"-only block of notebooks/<notebook>.py (every one ``= None``,
    ending before ``device``): ``{parameter: the default in brackets at the end of its comment}``."""
    block = (ROOT / "notebooks" / f"{notebook}.py").read_text().split('# budget "custom" only', 1)[1]
    out = {}
    for line in block.splitlines()[1:]:
        if line.startswith("device ="):
            return out
        name, comment = line.split(" = None  # ", 1)
        out[name] = ast.literal_eval(comment[comment.rstrip().rfind(" (") + 2:].rstrip()[:-1])
    raise AssertionError("no `device =` line after the custom-only block")


def test_claims_declared_with_kinds_deltas_and_the_paper():
    assert all(isinstance(c, Claim) for c in MSTI_CLAIMS)
    by_name = {c.name: c for c in MSTI_CLAIMS}
    assert len(by_name) == len(MSTI_CLAIMS)  # names are unique in the chapter
    assert {n: c.kind for n, c in by_name.items()} == {
        "control: P3D-B > order-blind": "superiority", "MSTI beats P3D-B": "superiority",
        "every multi-scale unit beats P3D-B": "worst_of",
        "Table 2's order: MSTI > MS(ST) > MS(S) > MS(T) > P3D-B": "ordering", "MSTI is best": "best_of"}
    assert by_name["MSTI beats P3D-B"].variants == ("msti", "p3d_b")
    assert by_name["Table 2's order: MSTI > MS(ST) > MS(S) > MS(T) > P3D-B"].variants == (
        "msti", "ms_st", "ms_s", "ms_t", "p3d_b")  # Table 2's rows, best first
    assert by_name["every multi-scale unit beats P3D-B"].variants[0] == "p3d_b"  # worst_of: the claimed worst first
    assert by_name["MSTI is best"].variants[0] == "msti"
    for c in MSTI_CLAIMS:
        assert c.metric == "top1" and c.higher_is_better and c.delta_reason and c.paper
        assert c.delta == (10.0 if c.name.startswith("control") else 1.0)


def test_paper_effects_are_table_2s_smallest_gaps():
    p = {v: (r["ucf101"], r["hmdb51"]) for v, r in MSTI_VARIANT_PAPER.items()}
    gap = lambda a, b: min(x - y for x, y in zip(p[a], p[b]))  # noqa: E731  smaller of UCF-101 / HMDB-51
    effect = {c.name: c.paper_effect for c in MSTI_CLAIMS}
    assert effect["MSTI beats P3D-B"] == pytest.approx(gap("msti", "p3d_b"))  # 5.9 (UCF-101)
    assert effect["every multi-scale unit beats P3D-B"] == pytest.approx(
        min(gap(v, "p3d_b") for v in ("ms_t", "ms_s", "ms_st", "msti")))  # 1.5
    order = ("msti", "ms_st", "ms_s", "ms_t", "p3d_b")
    assert effect["Table 2's order: MSTI > MS(ST) > MS(S) > MS(T) > P3D-B"] == pytest.approx(
        min(gap(a, b) for a, b in zip(order, order[1:])))  # 0.5 (MS(S) - MS(T), HMDB-51)
    assert effect["MSTI is best"] == pytest.approx(min(gap("msti", v) for v in order[1:]))  # 2.1
    assert all(gap(a, b) > 0 for a, b in zip(order, order[1:]))  # the order holds on both datasets


def test_positive_control_is_declared_and_trained_at_both_budgets():
    control = [c for c in MSTI_CLAIMS if ORDER_BLIND in c.variants]
    assert len(control) == 1 and control[0].kind == "superiority" and control[0].variants == ("p3d_b", ORDER_BLIND)
    for plan in MSTI_BUDGETS.values():
        assert {"p3d_b", ORDER_BLIND} <= set(plan["variants"])


def test_every_claim_is_trained_at_reference_and_quick_holds_the_headline_pair():
    claimed = {v for c in MSTI_CLAIMS for v in c.variants}
    assert claimed == set(msti_runs("reference")) == set(MSTI_BUDGETS["reference"]["variants"])
    assert set(MSTI_BUDGETS["quick"]["variants"]) == {"p3d_b", "msti", ORDER_BLIND}
    quick = MSTI_BUDGETS["quick"]  # <= 10 min on 2 cores: 9 runs of 384 steps
    assert len(quick["variants"]) * len(quick["seeds"]) * SYNTH_RECIPE["epochs"]["quick"] <= 27


def test_budget_seeds_are_disjoint_from_pilot_seeds():
    assert MSTI_BUDGETS["quick"]["seeds"] == (0, 1, 2)
    assert MSTI_BUDGETS["reference"]["seeds"] == tuple(range(6))  # the protocol's minimum n until a pilot sizes it
    for plan in MSTI_BUDGETS.values():
        assert not set(plan["seeds"]) & PILOT_SEEDS


@pytest.mark.parametrize("budget", ["quick", "reference"])
def test_runs_are_built_with_the_recipe(budget):
    runs = msti_runs(budget, device="cpu")
    assert list(runs) == list(MSTI_BUDGETS[budget]["variants"])
    for v, (cfg, extra) in runs.items():
        assert extra["variant"] == v
        if v == ORDER_BLIND:
            assert cfg == recipe_config("frame_avg2d", {"width": 0.25}, budget=budget, device="cpu")
            assert extra["unit"] == "order-blind (frame_avg2d)"
        else:
            assert cfg == recipe_config("msti_net_small", {"variant": v, "width": 0.25, "groups": 4}, budget=budget,
                                        device="cpu")
            assert extra["unit"] == MSTI_VARIANT_PAPER[v]["name"]
        assert cfg.epochs == SYNTH_RECIPE["epochs"][budget] and cfg.test_samples == SYNTH_RECIPE["test_samples"]
        assert cfg.dataset_kwargs["difficulty"] == SYNTH_RECIPE["difficulty"]


def test_custom_defaults_are_the_notebooks_and_valid():
    assert _custom_defaults("ablation_msti") == MSTI_CUSTOM  # the brackets of the parameters cell
    assert MSTI_CUSTOM["variants"] == list(MSTI_VARIANT_PAPER)  # Table 2's five units, P3D-B (the baseline) first
    assert budget_params("custom", MSTI_CUSTOM, variants=None, lr=0.01) == (
        "custom", {"variants": list(MSTI_VARIANT_PAPER), "lr": 0.01})
    with pytest.raises(ValueError, match="seeds = 5 applies to budget='custom' only"):
        budget_params("reference", MSTI_CUSTOM, seeds=5, variants=None)


def test_runs_refuse_an_unknown_budget_or_variant():
    with pytest.raises(ValueError, match="budget='huge'"):
        msti_runs("huge")
    with pytest.raises(ValueError, match=r"variants=\['msti_cat'\]"):
        msti_runs("quick", variants=["msti_cat"])
    assert set(msti_runs("quick", variants=["p3d_b", "ms_t"])) == {"p3d_b", "ms_t"}


def _rows(means: dict[str, float], seeds: int = 6) -> list[dict]:
    """Paired rows: seed k of every variant shifted by the same seed effect (fractions of 1)."""
    shift = [0.004, -0.006, 0.002, -0.001, 0.005, -0.004][:seeds]
    return [{"variant": v, "seed": k, "top1": m + s + 0.001 * (k % 2) * i}
            for i, (v, m) in enumerate(means.items()) for k, s in enumerate(shift)]


def test_claims_hold_on_rows_shaped_like_table_2():
    means = {"p3d_b": 0.80, "ms_t": 0.83, "ms_s": 0.86, "ms_st": 0.89, "msti": 0.92, ORDER_BLIND: 0.50}
    verdicts, differences = evaluate(MSTI_CLAIMS, _rows(means), by="variant")
    assert list(verdicts["claim"]) == [c.name for c in MSTI_CLAIMS]
    assert (verdicts["verdict"] == HOLDS).all()
    assert set(differences["claim"]) == {c.name for c in MSTI_CLAIMS}


def test_msti_table_lists_units_with_the_papers_numbers():
    rows = [{"variant": v, "seed": k, "top1": t, "swapped": s, "gmacs": 0.04, "params_m": 0.5}
            for v, k, t, s in [("p3d_b", 0, 0.80, 0.1), ("p3d_b", 1, 0.90, 0.3), (ORDER_BLIND, 0, 0.5, 0.45),
                               (ORDER_BLIND, 1, 0.52, None)]]
    t = msti_table(rows)
    assert list(t["unit"]) == ["P3D-B", "order-blind (frame_avg2d)"]
    p3d, blind = t.iloc[0], t.iloc[1]
    assert p3d["n"] == 2 and p3d["top-1 (%)"] == pytest.approx(85.0) and p3d["swapped (%)"] == pytest.approx(20.0)
    assert p3d["paper UCF-101"] == 86.9 and p3d["paper HMDB-51"] == 60.8
    assert blind["swapped (%)"] == pytest.approx(45.0) and math.isnan(blind["paper UCF-101"])
    t = msti_table([{"variant": "msti", "seed": 0, "top1": 0.7}])  # no swapped / cost columns
    assert t.iloc[0]["swapped (%)"] is None or math.isnan(t.iloc[0]["swapped (%)"])
    with pytest.raises(ValueError, match="msti_table: rows"):
        msti_table([])


def test_input_support_every_unit_sees_every_pixel_and_frame(one_thread):
    runs = {f"{v}-x": TrainConfig(model="msti_net_small", model_kwargs=dict(variant=v, width=0.125))
            for v in ("ms_t", "msti", "ms_t_only")}
    support = msti_input_support(runs, {"ms_t-x": "MS(T)", "msti-x": "MSTI", "ms_t_only-x": "T only"}, num_classes=4,
                                 input_shape=(3, 16, 32, 32))
    assert support == {"MS(T)": (1.0, 1.0), "MSTI": (1.0, 1.0), "T only": (1.0, 1.0)}  # even without a spatial conv
    assert msti_blind_warning(support, (32, 32)) is None
    w = msti_blind_warning({"MS(T)": (0.035, 1.0), "MSTI": (1.0, 1.0)}, (32, 32))
    assert w.startswith("**Warning:** MS(T) sees 3.5% of the 32×32 pixels.") and "MSTI" not in w


def test_paper_rows_are_buildable_variants():
    assert set(MSTI_VARIANT_PAPER) <= set(MSTI_NET_VARIANTS)  # Table 2's rows
    assert not {"ms_s_only", "ms_t_only"} & set(MSTI_VARIANT_PAPER)  # the single-branch tubes are not
