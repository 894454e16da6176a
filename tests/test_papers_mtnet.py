"""actionrec.papers.mtnet: the ratio chapter's declared claims, budgets and runs; the architecture
readings counted against Table 3."""

from dataclasses import replace

import pytest

from actionrec.experiments.grid import config_tag
from actionrec.models.mtnet import MTNET_READING
from actionrec.papers.mtnet import (MTNET_TABLE3, MTNET_TABLE3_CLASSES, best_mtnet_reading, mtnet_ratio_variants,
                                    mtnet_readings, mtnet_readings_table)
from actionrec.train import TrainConfig


def test_ratio_variants_one_run_per_r_and_g():
    base = TrainConfig(model="mtnet32", epochs=3)
    v = mtnet_ratio_variants(base, ratios=[0.5, 1.0], substreams=[1, 8], width=0.25)
    assert list(v) == ["r0.5_g1", "r1_g1", "r0.5_g8", "r1_g8"]
    cfg, row = v["r0.5_g8"]
    assert row == {"r": 0.5, "g": 8}
    assert cfg.model_kwargs == {"r": 0.5, "g": 8, "width": 0.25, "sr": "stage", "downsample": "bottleneck",
                                "streams": "persist"}
    assert cfg.model == "mtnet32" and cfg.epochs == 3 and base.model_kwargs != cfg.model_kwargs


def test_ratio_runs_of_another_reading_get_another_tag():
    """The reading is in model_kwargs, so config_tag (the run folder) changes with it: a finished run
    of one architecture reading is never reused for another (nor one made before the option existed)."""
    base = TrainConfig(model="mtnet32", epochs=3)
    (cfg, _), = mtnet_ratio_variants(base, ratios=[0.875], substreams=[1], width=0.25).values()
    old = replace(cfg, model_kwargs={"r": 0.875, "g": 1, "width": 0.25})
    other = replace(cfg, model_kwargs={**cfg.model_kwargs, "sr": "block"})
    assert len({config_tag(cfg), config_tag(old), config_tag(other)}) == 3


def test_readings_are_the_eight_preregistered_combinations():
    rs = mtnet_readings()
    assert len(rs) == 8 and len({tuple(r.values()) for r in rs}) == 8
    assert rs[0] == MTNET_READING == {"sr": "stage", "downsample": "bottleneck", "streams": "persist"}
    assert MTNET_TABLE3_CLASSES == 700 and len(MTNET_TABLE3) == 7
    assert MTNET_TABLE3["mtnet64", 8] == (13.07, 9.16) and MTNET_TABLE3["mtnet132", 8] == (24.68, 10.42)


def _row(sr, ds, st, err):
    return {"sr": sr, "downsample": ds, "streams": st, "max_abs_error": err, "within_10": err <= 0.1,
            "errors": {("mtnet32", 1): err}}


def test_best_reading_smallest_max_error_ties_to_the_first_listed():
    t = [_row("block", "bottleneck", "merge", 0.2), _row("stage", "bottleneck", "merge", 0.3),
         _row("block", "multiplexer", "persist", 0.2)]
    b = best_mtnet_reading(t)
    assert (b["sr"], b["downsample"], b["streams"]) == ("block", "bottleneck", "merge")  # listed before mux
    assert len(b["ties"]) == 2 and "Tied on the score" in b["sentence"] and "not every row" in b["sentence"]
    b = best_mtnet_reading([_row("stage", "bottleneck", "persist", 0.05), _row("block", "bottleneck", "merge", 0.2)])
    assert b["is_default"] and "every row within ±10%" in b["sentence"] and "default" in b["sentence"]


def test_readings_table_counts_each_reading():
    one = {("mtnet32", 1): MTNET_TABLE3["mtnet32", 1]}
    t = mtnet_readings_table(table3=one)
    assert len(t) == 8 and [r["max_abs_error"] for r in t] == sorted(r["max_abs_error"] for r in t)
    by = {(r["sr"], r["downsample"], r["streams"]): r for r in t}
    assert by["block", "bottleneck", "persist"]["params"][("mtnet32", 1)] > by["stage", "bottleneck", "persist"]["params"][("mtnet32", 1)]
    assert abs(by["stage", "bottleneck", "persist"]["params"][("mtnet32", 1)] - 25.627436) < 1e-6  # 700 classes


@pytest.mark.slow
def test_default_reading_is_the_best_against_table3():
    """The pre-registered decision (benchmarks/complexity.py --readings), recomputed (~20 s)."""
    b = best_mtnet_reading(mtnet_readings_table())
    assert b["is_default"] and not b["row"]["within_10"]
    assert abs(b["row"]["max_abs_error"] - 0.3808) < 1e-3


def test_ratio_protocol_declares_claims_budgets_and_the_pilot_sized_n():
    from actionrec.experiments.protocol import Claim
    from actionrec.papers.mtnet import (MTNET_RATIO_BUDGETS, MTNET_RATIO_CLAIMS, MTNET_RATIO_PILOT_SEEDS, ORDER_BLIND,
                                        mtnet_ratio_reference_n, mtnet_ratio_runs, mtnet_ratio_seeds_of)
    assert all(isinstance(c, Claim) for c in MTNET_RATIO_CLAIMS)
    kinds = {c.name: c.kind for c in MTNET_RATIO_CLAIMS}
    assert kinds["r = 0.875 beats r = 1"] == "superiority" and kinds["r = 0.5 is worst"] == "worst_of"
    assert any(ORDER_BLIND in c.variants for c in MTNET_RATIO_CLAIMS)  # the positive control is declared
    sized = mtnet_ratio_reference_n()
    assert MTNET_RATIO_BUDGETS["reference"]["seeds"] == tuple(range(sized["n"])) and sized["n"] >= 6
    for plan in MTNET_RATIO_BUDGETS.values():  # pilot seeds are disjoint from every budget's
        assert not set(plan["seeds"]) & set(MTNET_RATIO_PILOT_SEEDS)
    for budget, plan in MTNET_RATIO_BUDGETS.items():
        runs = mtnet_ratio_runs(budget)
        assert set(runs) == {f"r{r:g}_g1" for r in plan["ratios"]} | {ORDER_BLIND}
        assert {cfg.epochs for cfg, _ in runs.values()} == {3 if budget == "quick" else 24}
        assert {cfg.train_samples for cfg, _ in runs.values()} == {4096 if budget == "quick" else 16384}
        assert {cfg.dataset_kwargs["difficulty"] for cfg, _ in runs.values()} == {"temporal"}
        assert runs[ORDER_BLIND][0].model == "frame_avg2d" and all(e["variant"] == k for k, (_, e) in runs.items())
    assert mtnet_ratio_seeds_of("reference", range(12)) == {ORDER_BLIND: [0, 1, 2]}  # the control: 3 seeds
    assert mtnet_ratio_seeds_of("quick", [0, 1, 2]) == {ORDER_BLIND: [0, 1, 2]}
    with pytest.raises(ValueError, match="budget"):
        mtnet_ratio_seeds_of("custom", [0])
    ref = {v for c in MTNET_RATIO_CLAIMS for v in c.variants}
    assert ref == set(mtnet_ratio_runs("reference"))  # every claim's variants are trained at reference
    with pytest.raises(ValueError, match="budget"):
        mtnet_ratio_runs("huge")


def test_the_pilot_that_sizes_n_is_the_committed_pilot():
    """MTNET_RATIO_PILOT's numbers are the committed pilot runs' test top-1, not typed-in values; the
    chapter's setting has doubling runs in the committed pilot."""
    from actionrec.experiments.convergence import PILOT_DIR, load_pilot
    from actionrec.experiments.published import results_dir
    from actionrec.papers.mtnet import (MTNET_RATIO_PILOT, MTNET_RATIO_PILOT_PAIR, MTNET_RATIO_PILOT_RUNS,
                                        MTNET_RATIO_PILOT_SEEDS, MTNET_RATIO_PILOT_SETTING)
    assert set(MTNET_RATIO_PILOT) == set(MTNET_RATIO_PILOT_PAIR)
    rows, _ = load_pilot(results_dir("ablation_ratio") / PILOT_DIR)
    setting, epochs = MTNET_RATIO_PILOT_RUNS
    at = rows[(rows["setting"] == setting) & (rows["epochs"] == epochs) & (rows["status"] == "finished")]
    for variant, values in MTNET_RATIO_PILOT.items():
        got = at[at["variant"] == variant].set_index("seed")["top1"]
        assert values == tuple(round(100 * got[s], 2) for s in MTNET_RATIO_PILOT_SEEDS), variant
    assert set(rows[rows["setting"] == MTNET_RATIO_PILOT_SETTING]["seed"]) <= set(MTNET_RATIO_PILOT_SEEDS)
