"""Readings and departures: where a paper is ambiguous, which reading the library takes, and where it
departs from the paper or its official code. One source for the book page and the docstrings.

Each :class:`Reading` says what the paper (or its official code) says, what we do, the evidence, and
the code that implements it (dotted paths, each importable; the tests resolve every one). The layer,
model and paper modules state a departure in one sentence and point here (``READINGS`` key
``srtg-gate``, ...); the full text lives only here, so docstrings and page cannot drift.
:func:`readings_markdown` renders :data:`READINGS` as the book page "Readings and departures"
(``book/build.py`` writes it to ``book/_generated/readings.md`` at every build).

Fields are MyST markdown. Evidence cites only numbers already committed, and says where: a section of
``benchmarks/README.md`` (as *its heading*), a chapter (``{doc}`` role), a test
(``tests/test_x.py::test_name``) or a file; the tests check that every cited test, heading, chapter
and file exists.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reading", "READINGS", "PAPERS", "KINDS", "readings_of", "readings_markdown"]

#: The papers, in book order: key -> (short name, title, key in ``book/references.bib``).
PAPERS = {"mtnet": ("MTNet", "Right on Time", "stergiou2021mtnet"),
          "srtg": ("SRTG", "Learn to Cycle", "stergiou2020srtg"),
          "msti": ("MSTI-Net", "Multi-Scale Spatial-Temporal Integration Convolutional Tube", "wu2020msti"),
          "mixtconv": ("MixTConv", "Mixed Temporal Convolutional Kernels", "shan2020mixtconv"),
          "multiplier": ("ST-Multiplier networks", "Spatiotemporal Multiplier Networks", "feichtenhofer2017multiplier")}
#: "reading": a choice where the paper is ambiguous; "departure": we do other than the paper or its official code.
KINDS = ("reading", "departure")


@dataclass(frozen=True)
class Reading:
    """One reading of an ambiguous paper, or one departure from the paper or its official code.

    Attributes:
        key: Unique id, ``"<paper>-<topic>"``; docstrings point to it.
        paper: One of :data:`PAPERS`.
        topic: Short title.
        paper_says: What the paper (or its official code) says, or leaves open.
        we_do: Our reading or departure.
        evidence: Why: the text, the code, committed measurements (and where they are).
        code: Dotted paths of the objects that implement it (``"actionrec.layers.srtg.SRTGate"``).
        kind: ``"reading"`` or ``"departure"`` (:data:`KINDS`).
    """

    key: str
    paper: str
    topic: str
    paper_says: str
    we_do: str
    evidence: str
    code: tuple[str, ...]
    kind: str

    def __post_init__(self):
        if self.paper not in PAPERS:
            raise ValueError(f"Reading {self.key!r}: paper={self.paper!r}, expected one of {sorted(PAPERS)}")
        if self.kind not in KINDS:
            raise ValueError(f"Reading {self.key!r}: kind={self.kind!r}, expected one of {KINDS}")
        if not self.code or not all(isinstance(c, str) and c.startswith("actionrec.") for c in self.code):
            raise ValueError(f"Reading {self.key!r}: code must be a non-empty tuple of 'actionrec.…' paths, got {self.code!r}")


_L, _M, _P, _A = "actionrec.layers.", "actionrec.models.", "actionrec.papers.", "actionrec.analysis."
_R = "`benchmarks/README.md`"

READINGS: tuple[Reading, ...] = (
    # ------------------------------------------------------------------------------------------ MTNet
    Reading(
        "mtnet-table3-reading", "mtnet", "Which architecture Table 3 counts",
        paper_says="The text allows three choices: a GRU pair after every stage (Table 1's \"SR: 2 x GRU\" row) or "
        "inside every repeat block (\"4 x Conv + 2 x GRU\"); a bottleneck downsample block or MF-Net's multiplexer "
        "(\"two 1x1x1 convolutions at the beginning\", \"four MTConvs\"; {cite}`chen2018mfnet`); streams that persist through the network "
        "or re-join at every block (MTConvs work \"at the layer level, not as two pathways\").",
        we_do="All eight combinations are options (`sr`, `downsample`, `streams`); the default is the one closest to "
        "Table 3's parameter counts, scored by rules fixed before counting (700 classes, r = 0.875, max relative "
        "error over the seven rows): `sr=\"stage\"`, `downsample=\"bottleneck\"`, `streams=\"persist\"`.",
        evidence=f"{_R}, *complexity: MTNet against Table 3*: the default scores 38.08% (the multiplexer 38.10%, "
        "6k parameters apart; persist and merge tie exactly, the tie goes to the official code's and Table 1's "
        "layout); no reading is within ±10% on all rows (\"stage\" −23% / −38% on the g = 8 rows, −14% / −20% on "
        "MTNet-132 / -200; \"block\" +42% / +39% on the g = 8 rows, +34% on MTNet-32), and Table 3 itself fits no "
        "one reading: its MTNet-64 → -132 increment (2.49M per stage-3 repeat block) matches \"block\" (2.48M), "
        "not \"stage\" (1.86M). "
        "`tests/test_papers_mtnet.py::test_default_reading_is_the_best_against_table3`.",
        code=(_M + "mtnet.MTNET_READING", _P + "mtnet.mtnet_readings_table", _P + "mtnet.best_mtnet_reading",
              _M + "factory.get_mtnet_reading"),
        kind="reading"),
    Reading(
        "mtnet-official-blocks", "mtnet", "The official code's blocks",
        paper_says="The official code (`network/MTnet.py` of the SRTG repository) counts the downsample block among "
        "Table 1's repeats, puts a multiplexer (in→width→in, no add) and a GRU pair in every block, divides the "
        "block width by g and never calls SoftPool.",
        we_do="We follow the paper's text and tables: Table 1's repeats after one downsample block per stage, "
        "MF-Net's multiplexer widths (and its add) where the multiplexer reading is chosen, SoftPool in the "
        "downsample blocks.",
        evidence="The text and Table 1; the official layout is one of the readings only where the text allows it "
        "(`sr=\"block\"`). `tests/test_models_mtnet.py::test_every_builder_follows_table1`, "
        "`tests/test_models_mtnet.py::test_multiplexer_is_added_to_the_block_input`.",
        code=(_M + "mtnet.MTNet", _M + "mtblocks.DownsampleMTBlock", _M + "mtblocks.MultiplexerMTBlock"),
        kind="departure"),
    Reading(
        "mtnet-channel-split", "mtnet", "Channel split",
        paper_says="Eq. 1 writes `C_s = floor(r C)` and `C_l = floor((1 - r) C)`, which can lose a channel.",
        we_do="`C_l = C - C_s`: the long stream takes the remainder, so no channel is lost; `r = 1` has no long "
        "stream and is exactly `conv3d → bn → relu`.",
        evidence="`tests/test_layers_mtconv.py::test_split_channels`, "
        "`tests/test_layers_mtconv.py::test_r1_is_plain_conv_bn_relu`.",
        code=(_L + "mtconv.split_channels", _L + "mtconv.MTConv"), kind="reading"),
    Reading(
        "mtnet-lateral", "mtnet", "The short → long lateral",
        paper_says="Eq. 2 pools the short stream's *input* `a_s` into the long stream. The official code pools "
        "the short stream's output (after `conv_s`), halves T by picking frames by cosine similarity and shares "
        "one BN between `conv_l` and the lateral.",
        we_do="Eq. 2 as written: `pool(a_s)` → 1x1x1 conv → its own BN, added to the long stream before its relu; "
        "average pooling in repeat blocks, SoftPool in downsample blocks.",
        evidence="`tests/test_layers_mtconv.py::test_eq2_matches_reference`.",
        code=(_L + "mtconv.MTConv",), kind="departure"),
    Reading(
        "mtnet-lateral-groups", "mtnet", "Grouped laterals that do not divide",
        paper_says="Sub-streams (Fig. 3c/d) group the convolutions; the paper does not say how the s→l lateral "
        "is grouped when the long stream's group count does not divide both streams' channels "
        "(r = 0.625, g = 8: 5 + 3 sub-streams).",
        we_do="The lateral uses the long stream's `g_l` groups, falling back to `gcd(g_l, C_s, C_l)`.",
        evidence="`tests/test_layers_mtconv.py::test_lateral_group_fallback_for_5x3`.",
        code=(_L + "mtconv.split_groups", _L + "mtconv.MTConv"), kind="reading"),
    Reading(
        "mtnet-softpool", "mtnet", "SoftPool per channel",
        paper_says="Eq. 3: a softmax over each window. The official SoftPool repository's CPU path shares one "
        "weight map across channels and differs from its CUDA kernel (its issues #4, #31, #61); the official "
        "MTNet code never calls SoftPool.",
        we_do="Eq. 3 per channel, in plain torch, the same operator on every device, unclamped.",
        evidence="`tests/test_layers_softpool.py::test_matches_brute_force`, "
        "`tests/test_layers_softpool.py::test_constant_window_returns_constant_and_is_per_channel`.",
        code=(_L + "softpool.SoftPool3d", _L + "softpool.soft_pool3d"), kind="departure"),
    Reading(
        "mtnet-depths", "mtnet", "Depths and names",
        paper_says="Table 1 lists the repeats per stage; the names (MTNet-32 … -200) do not follow from a layer "
        "count of that layout (4 x (3 + 2 n_i) MTConvs + stem + fc gives 30/38/46/80/114).",
        we_do="We follow the table: one downsample block plus (2,2,2,2), (2,2,5,3), (3,4,6,3), (3,4,23,3), (3,8,36,3) "
        "repeat blocks.",
        evidence="Table 1 (`mtnet.txt` lines 90-107); `tests/test_models_mtnet.py::test_table1_depths`.",
        code=(_M + "mtnet.MTNET_DEPTHS",), kind="reading"),
    Reading(
        "mtnet-zero-init", "mtnet", "Residual branches start at zero",
        paper_says="\"Standard Kaiming initialization\", nothing more.",
        we_do="Kaiming init, and the last BN of every residual branch starts at zero (`zero_init_residual=True`), "
        "so every block starts as the identity; `False` restores the plain init.",
        evidence=f"The SynthActions recipe trains every family with zero-initialised branches ({_R}, "
        "*SynthActions recipe (issue 15): converged runs below the ceiling*). "
        "`tests/test_models_mtnet.py::test_zero_init_residual_blocks_start_as_identity`.",
        code=(_M + "mtnet.MTNet",), kind="departure"),
    Reading(
        "mtnet-complexity", "mtnet", "What Table 3's GFLOPs count",
        paper_says="Table 3 gives GFLOPs without the clip size and without saying whether they are multiply-adds.",
        we_do="We count multiply-adds (GMACs, LSTM/GRU MACs by hand) at 16x224x224 and at the multigrid average "
        "8x180x180, and report both beside the paper.",
        evidence=f"{_R}, *complexity: MTNet against Table 3*: MTNet-32 29.72 / 9.91 GMACs against 35.10 GFLOPs; "
        "r = 0.875 vs r = 1 −20.2% (paper −20.52%).",
        code=(_A + "complexity.model_complexity", _P + "mtnet.MTNET_TABLE3"), kind="reading"),
    # ------------------------------------------------------------------------------------------- SRTG
    Reading(
        "srtg-gate", "srtg", "A gate that can open",
        paper_says="The gate fuses the LSTM output iff `pool(a)` and `a*` are cycle-consistent (eq. 4-5, both "
        "directions). The official code's gate can never open (an in-place `scatter_` zeroes the difference tensor, "
        "then the mask is set to 0 everywhere) and its softmax is `exp(d) / exp(sum d)` (not normalised; overflows).",
        we_do="Eq. 4-5 as written (a normalised softmax, computed in float32 with autocast off) and the "
        "open-iff-consistent gate, per sample (`gate=\"hard\"`).",
        evidence="`tests/test_layers_cycle_consistency.py::test_time_reversed_b_is_not_consistent`, "
        "`tests/test_layers_cycle_consistency.py::test_weights_match_reference_softmax_float64`, "
        "`tests/test_layers_srtg.py::test_hard_gate_opens_per_sample_in_forward`.",
        code=(_L + "srtg.SRTGate", _L + "cycle_consistency.cycle_consistency"), kind="departure"),
    Reading(
        "srtg-placement-gate", "srtg", "Which gate the placement rows run",
        paper_says="Table 1's placements carry the hard gate. The authors' gates stayed closed for the first 30-50 "
        "epochs (issue #2 of their repository); their `srtg_*` networks are built with `gates=False` (the LSTM "
        "output always fused) and their released models are named `..._gates_False`.",
        we_do="The placement rows run `gate=\"open\"` (fused on every clip, as the authors trained), so rows differ "
        "in placement only; the paper's hard gate is one extra row per backbone, with its open rate measured.",
        evidence=f"{_R}, *ablation_srtg_placement*: at initialisation the hard gate opened for no clip in any gate "
        "of any placement; in a smoke run the hard-gated networks' gates were open for 0.00% of (gate, clip) pairs "
        "and their logits equal those of the networks with every SRTG bypassed (max |diff| = 0). Chapter "
        "{doc}`ablation_srtg_placement`.",
        code=(_P + "srtg.SRTG_PLACEMENT_GATE", _P + "srtg.SRTG_HARD_ROW", _P + "srtg.hard_gate_check"),
        kind="reading"),
    Reading(
        "srtg-soft-gate", "srtg", "A differentiable gate (ours)",
        paper_says="Only the hard, per-sample gate.",
        we_do="An option, `gate=\"soft\"`: `x + s (fuse - x)` with `s` the mean soft weight a frame puts on its own "
        "time index, both directions (in [0, 1]); it trains the LSTM while the hard gate would stay closed.",
        evidence=f"{_R}, *ablation_srtg_placement*: at initialisation `s` ≈ 1/T per gate (0.06 at T = 16, ≈ 0.5 at "
        "T = 2), so it would fuse a different amount at each placement (one reason the rows run `\"open\"`); "
        f"{_R}, *srtg_cycle_consistency*. `tests/test_layers_srtg.py::test_soft_gate_gradients_reach_x_lstm_and_score`.",
        code=(_L + "srtg.SRTGate", _L + "cycle_consistency.CycleConsistency"), kind="departure"),
    Reading(
        "srtg-sr-fusion", "srtg", "How the recurrent output is fused (SRTG and MTNet)",
        paper_says="SRTG: the recurrent information is \"added back to the network\" (Sec. 3.2). The official "
        "SRTG and MTNet code multiplies the features by the LSTM/GRU output, `x · a*`, with no sigmoid "
        "(`a*` in (-1, 1)).",
        we_do="`fusion=\"residual\"` (default): `x · (1 + a*)`, the identity at `a* = 0`, reading \"added back\" "
        "literally while keeping the multiplication; `fusion=\"mul\"` reproduces the official code.",
        evidence="`tests/test_layers_squeeze_recursion.py::test_squeeze_recursion_default_is_residual_and_rejects_unknown_fusion`, "
        "`tests/test_models_mtnet.py::test_sr_fusion_option_reaches_every_stage`.",
        code=(_L + "squeeze_recursion.SqueezeRecursion", _L + "srtg.SRTGate"), kind="departure"),
    Reading(
        "srtg-top", "srtg", "Top: where the LSTM reads and where it fuses",
        paper_says="\"Activations of the first convolution are used by the LSTM, with fused features being used by "
        "the final convolution\" (Sec. 3.3). The official code fuses at the LSTM's input, conv1's output.",
        we_do="`top_fusion=\"conv3\"` (default): the LSTM reads conv1's output, the gate fuses conv2's output "
        "(conv3's input); `\"conv2\"` is the official code's Top.",
        evidence="`tests/test_models_resnet3d.py::test_top_lstm_reads_conv1_and_fused_features_feed_conv3`, "
        "`tests/test_models_resnet3d.py::test_top_conv2_option_is_the_official_code`.",
        code=(_M + "resnet3d.TOP_FUSIONS", _M + "resnet3d.Bottleneck"), kind="reading"),
    Reading(
        "srtg-time-match", "srtg", "LSTM and fused tensor at different frame rates",
        paper_says="Not said: with Top, a strided conv2 lies between the LSTM's input and the fused tensor.",
        we_do="`pool(a)` and `a*` are average-pooled over time to the fused tensor's frames before the gate "
        "compares and fuses (pairs of frames for an even T).",
        evidence="`tests/test_layers_srtg.py::test_pool_time_is_adaptive_average_pooling_over_frames`, "
        "`tests/test_layers_srtg.py::test_source_feeds_the_lstm_and_x_is_fused`.",
        code=(_L + "srtg.pool_time", _L + "srtg.SRTGate"), kind="reading"),
    Reading(
        "srtg-start-res", "srtg", "Start and Res placements",
        paper_says="Start is \"the very first process in the block\"; Res is \"applied to the residual "
        "connection\". The official code gates the block input before the shortcut splits off, and gates the "
        "shortcut only in blocks with a projection.",
        we_do="Start gates the residual branch only (the shortcut keeps the raw input); Res gates the shortcut in "
        "every block.",
        evidence="The text names neither the shortcut (Start) nor an exception (Res). "
        "`tests/test_models_resnet3d.py::test_gate_sits_where_fig2b_says_bottleneck`, "
        "`tests/test_models_resnet3d.py::test_gate_sits_where_fig2b_says_simple`.",
        code=(_M + "resnet3d.SimpleBlock", _M + "resnet3d.Bottleneck"), kind="departure"),
    Reading(
        "srtg-backbones", "srtg", "r3d and r(2+1)d backbones",
        paper_says="r3d and r(2+1)d ResNets after Hara et al. {cite}`hara2018r3d` and Tran et al. "
        "{cite}`tran2018closer`; layouts not spelt out.",
        we_do="(2+1)D mid channels per conv chosen to match the 3D conv's parameters (Tran et al.), not per "
        "block as torchvision; the stem is (3,7,7) without max-pool, as the SRTG code's r3d, not Hara et al.'s "
        "(7,7,7) + max-pool.",
        evidence="`tests/test_models_resnet3d.py::test_2plus1d_mid_channels_match_3d_params`.",
        code=(_M + "blocks.tran_mid_channels", _M + "resnet3d.VideoResNet"), kind="reading"),
    Reading(
        "srtg-overhead", "srtg", "Counting SRTG's cost",
        paper_says="SRTG adds \"approximately 0.15%\" of the operations (Sec. 4.5), 0.03-0.4 GFLOPs (Sec. 5).",
        we_do="Count the LSTM's multiply-adds by hand (FLOP counters count a fused recurrent op as 0) and report "
        "the overhead per placement and depth.",
        evidence="`benchmarks/srtg_complexity.py` (its docstring holds the measured range: 0.02% for r3d-34 Final "
        "up to 0.60-0.63% for -101 Final). `tests/test_analysis_complexity.py::test_gru_and_lstm_macs_formula`.",
        code=(_A + "complexity.rnn_macs", _A + "complexity.count_macs"), kind="reading"),
    # ------------------------------------------------------------------------------------------- MSTI
    Reading(
        "msti-variants", "msti", "What MS(T) and MS(S) are",
        paper_says="Table 2 takes P3D-B {cite}`qiu2017p3d` (\"the only parallel structure in all three P3Ds\") as the "
        "baseline and "
        "adds MS(T), MS(S), MS(ST) and the full tube; it does not define MS(T) / MS(S) further.",
        we_do="Every row keeps P3D-B's two parallel branches and makes branches multi-scale one at a time: MS(T) "
        "= P3D-B with a stepped temporal branch, MS(S) with a stepped spatial branch. The single-branch tubes "
        "(`ms_t_only`, `ms_s_only`) are kept as options, not Table 2 rows.",
        evidence=f"Sec. 4.2 reports each multi-scale row *above* P3D-B. {_R}, *ablation_msti*. "
        "`tests/test_layers_msti.py::test_each_variant_holds_exactly_the_convolutions_it_names`.",
        code=(_L + "msti.MSTITube", _L + "msti.BRANCHES"), kind="reading"),
    Reading(
        "msti-caw", "msti", "The cross-scale attention weights",
        paper_says="Eq. 4-6: `W*_SS`, `W_SS`, `W_TS` then global pooling, FC and sigmoid; bias, normalisation and "
        "the FC's reduction are not given.",
        we_do="Per-group 1x1x1 weights without bias, bn or relu between eq. 4 and 5, no SE reduction; being linear "
        "they act on the pooled vectors (exact), `O(C~^2)` MACs.",
        evidence="`tests/test_layers_msti.py::test_caw_pooled_equals_full_resolution_convs_and_weights_in_unit_interval`.",
        code=(_L + "msti.CAWBlock",), kind="reading"),
    Reading(
        "msti-stride", "msti", "Striding a tube",
        paper_says="Not said: a unit's stride could sit in its 1x1x1 reduce conv, its K_i convs or a pool.",
        we_do="An average pool (kernel = stride, as ResNet-D) before the reduce conv and the projection shortcut.",
        evidence=f"{_R}, *ablation_msti*: an earlier network that strided its 1x1x1 reduce and shortcut convs let "
        "the single-branch temporal tube see only a 6x6 corner of the 32x32 clip, and it stayed at chance "
        "(5.9 ± 0.5%). `tests/test_layers_msti.py::test_every_variant_sees_every_input_pixel_and_frame`.",
        code=(_L + "msti.MSTITube", _P + "msti.msti_input_support"), kind="reading"),
    Reading(
        "msti-network", "msti", "Stem padding and the ablation backbone",
        paper_says="Table 1 gives output sizes but no paddings; the Table 2 ablation runs on an 8-conv backbone "
        "that is not described.",
        we_do="Stem conv padding (1,3,3) and max-pool padding 1 (they give Table 1's sizes); the ablation swaps "
        "the unit inside MSTI-Net (`msti_net_small` on CPU) instead of the unknown backbone.",
        evidence="`tests/test_models_msti_net.py::test_table1_shapes_at_width_1_on_meta`.",
        code=(_M + "msti_net.MSTINet", _M + "msti_net.msti_net_small", _P + "msti.msti_runs"), kind="departure"),
    # --------------------------------------------------------------------------------------- MixTConv
    Reading(
        "mixtconv-init", "mixtconv", "The initial weights",
        paper_says="The slides give no init. The official code (`VDIGPKU/MixTConv`, `MsGroupConv1d.weight_init`) "
        "starts kernel 3 with `[:fold]` reading t-1 and `[fold:2 fold]` t+1, kernels 5 and 7 as sums of 2 / 3 "
        "frames on one side, `fold = C_m // 8`. Our notes called it \"TSM-like\" (MixTConv starting as TSM).",
        we_do="`init=\"official\"` (default), as the official code; `init=\"tsm\"` puts TSM's ±1 shift in every "
        "group. With kernels {1, 3, 5, 7} the official init moves 3C/16 channels (TSM C/4), some by up to 3 frames, "
        "so MSTNet does not start as TSM.",
        evidence=f"{_R}, *ablation_mixtconv_kernels*: at width 0.125 the official init starts 6/32, 12/64, 24/128 "
        "channels of blocks 2-4 reading other frames, up to ±3 frames away. "
        "`tests/test_layers_mixtconv.py::test_official_init_is_the_official_weight_init_tensor_for_tensor`, "
        "`tests/test_layers_mixtconv.py::test_channels_read_from_other_frames_3_16_by_default_not_tsm_1_4`.",
        code=(_L + "mixtconv.MixTConv", _P + "mixtconv.MIXTCONV_INIT", _P + "mixtconv.mixtconv_init_table"),
        kind="reading"),
    Reading(
        "mixtconv-groups", "mixtconv", "Groups, kernels and dilations",
        paper_says="The official code hard-codes four equal groups with kernels 1/3/5/7 (`x.split([c // 4] * 4)`, "
        "which fails unless 4 divides C).",
        we_do="Any odd kernels and dilations and any C: `C // g` channels per group, the remainder to the first "
        "(MixConv's rule).",
        evidence="`tests/test_layers_mixtconv.py::test_splits_params_and_tsm_init_fractions`, "
        "`tests/test_layers_mixtconv.py::test_grouped_equals_naive_reference`.",
        code=(_L + "mixtconv.mixtconv_split", _L + "mixtconv.MixTConv"), kind="departure"),
    Reading(
        "mixtconv-placement", "mixtconv", "Where MixTConv sits",
        paper_says="The slides insert MixTConv into a TSN ResNet-50 without saying where in the block.",
        we_do="Before the first 1x1 conv of every bottleneck, on the residual branch only (the official code's "
        "`ms_group1douter`, TSM's \"blockres\" {cite}`lin2019tsm`).",
        evidence="`tests/test_models_tsn.py::test_temporal_op_sits_before_first_1x1_on_the_residual_branch`.",
        code=(_M + "tsn.TSN", _M + "tsn.mstnet_small"), kind="reading"),
    Reading(
        "mixtconv-training", "mixtconv", "Training without pre-training",
        paper_says="An ImageNet-pretrained TSN {cite}`wang2016tsn` ResNet-50 on Something-Something v1; official recipe SGD lr 0.01, 50 epochs, "
        "gradient-norm clip 20, dropout 0.8 (TSN) / 0.5 (TSM, MixTConv).",
        we_do="No ImageNet weights (no torchvision here); small backbones on SynthActions with the shared recipe "
        "(AdamW lr 3e-3, batch 32, cosine); dropout 0 by default.",
        evidence=f"{_R}, *SynthActions recipe (issue 15): converged runs below the ceiling* (the learning-rate probe "
        "for TSN and TSM). Chapter {doc}`ablation_mixtconv_kernels`.",
        code=(_P + "mixtconv.mixtconv_runs", _M + "tsn.tsn_small"), kind="departure"),
    # ------------------------------------------------------------------------------------- Multiplier
    Reading(
        "multiplier-direct-path", "multiplier", "Direct connections feed the skip path",
        paper_says="Fig. 2(a)/(b) \"direct\" connections: \"an additive shortcut connection\", \"directly "
        "multiplying the shortcut paths\", \"injecting into the skip path breaks the identity shortcut\" "
        "(Sec. 5.1); the official code has no direct variant.",
        we_do="`direct_path=\"skip\"` (default): the fused signal feeds only the skip path, `g + F(x_a)`; "
        "`\"both\"` puts it on both paths, `g + F(g)`.",
        evidence="`tests/test_layers_fusion.py::test_direct_readings_give_their_formulas_on_constructed_inputs`, "
        "`tests/test_papers_multiplier.py::test_readings_enter_the_run_tags_and_build_the_named_models`.",
        code=(_L + "fusion.CrossStreamConnection", _L + "fusion.DIRECT_PATHS"), kind="reading"),
    Reading(
        "multiplier-filter-units", "multiplier", "How many units get temporal filters",
        paper_says="Sec. 4: filters go \"into a residual unit at every conv block\"; Table 1 marks a bracket "
        "repeated x N / x M (a filter in every middle unit: 8 per ResNet-50 stream). The official code "
        "(`STMulNet.m`) filters res2b..res5b: one unit per stage.",
        we_do="`filter_units=\"first\"` (default): one filtered unit per stage, as the text and the code; "
        "`\"all\"` every middle unit.",
        evidence="`tests/test_layers_temporal_filter.py::test_filter_units_first_and_all_in_the_r50_layout`.",
        code=(_L + "temporal_filter.filter_unit_indices", _L + "temporal_filter.FILTER_UNITS"), kind="reading"),
    Reading(
        "multiplier-fusion-unit", "multiplier", "Which unit a cross-stream connection enters",
        paper_says="Connections enter conv2_x..conv5_x (Table 1); the official code multiplies the motion output "
        "of res2a..res5a into the residual branch of res2b..res5b.",
        we_do="The first residual unit of every stage (`fusion_unit=0`, our notes); `fusion_unit=1` is the unit "
        "after it, where the official code connects.",
        evidence="Table 1 allows either; `tests/test_models_two_stream.py::test_every_variant_builds_and_trains_a_step` "
        "(both units).",
        code=(_M + "two_stream.STMultiplierNet",), kind="reading"),
    Reading(
        "multiplier-flow-stacking", "multiplier", "Which flows a stack holds",
        paper_says="\"A stack of L = 10 optical flow frames\", citing Simonyan & Zisserman {cite}`simonyan2014twostream` (whose stack at τ starts "
        "at τ); the official code reads offsets -L/2 .. L/2-1 around the RGB frame.",
        we_do="`flow_stacking=\"centred\"` (default, the official code); `\"forward\"` is Simonyan & Zisserman's "
        "eq. 1. Stacks are built from the clip's own per-frame flow, so indices clamp at the clip's ends (the "
        "official code samples its stacks inside the video).",
        evidence="`tests/test_layers_flow_stack.py::test_clamped_slots_per_clip_as_documented`, "
        "`tests/test_layers_flow_stack.py::test_forward_stack_at_tau_holds_flows_tau_to_tau_plus_L_minus_1`.",
        code=(_L + "flow_stack.stack_flow", _L + "flow_stack.STACKINGS"), kind="reading"),
    Reading(
        "multiplier-filter-padding", "multiplier", "Padding of the temporal filters",
        paper_says="Eq. 8-9: identity-initialised 1x1xT' filters; the official MatConvNet code pads with zeros.",
        we_do="Replicate padding in time, so the average init `[1/3, 1/3, 1/3]` is an identity on temporally "
        "constant features at the clip's ends too; `padding_mode=\"zeros\"` restores the official behaviour.",
        evidence="`tests/test_layers_temporal_filter.py::test_centre_init_is_exact_identity`, "
        "`tests/test_layers_temporal_filter.py::test_avg_init_averages_and_keeps_constant_input`.",
        code=(_L + "temporal_filter.TemporalFilter",), kind="departure"),
    Reading(
        "multiplier-r152", "multiplier", "ResNet-152's depths",
        paper_says="Table 1's \"N = 6, M = 32\" for ResNet-152 gives 1 + 32 + 1 = 34 units in conv4_x.",
        we_do="He et al.'s (3, 8, 36, 3).",
        evidence="No ResNet-152 has 34 conv4_x units ({cite}`he2016resnet`, Table 1).",
        code=(_M + "two_stream.two_stream_r152",), kind="departure"),
    Reading(
        "multiplier-training", "multiplier", "Inputs and training",
        paper_says="Both streams start from ImageNet; the motion stream reads TV-L1 flow as mean-subtracted JPEG "
        "codes, with dropout 0.8.",
        we_do="No ImageNet weights; flow in pixels, Farneback {cite}`farneback2003` by default (OpenCV without the contrib modules has "
        "no TV-L1); dropout 0 by default (`motion_dropout`).",
        evidence="`tests/test_data_flow.py::test_farneback_close_to_ground_truth_on_easy_clips`, "
        "`tests/test_data_flow.py::test_tvl1_when_available_else_clear_error`.",
        code=(_M + "two_stream.two_stream_small", "actionrec.data.flow.compute_flow"), kind="departure"),
)


def readings_of(paper: str) -> tuple[Reading, ...]:
    """The entries of ``paper`` (a key of :data:`PAPERS`), in :data:`READINGS` order."""
    if paper not in PAPERS:
        raise ValueError(f"paper={paper!r}, expected one of {sorted(PAPERS)}")
    return tuple(r for r in READINGS if r.paper == paper)


def _code_roles(code: tuple[str, ...]) -> str:
    return ", ".join(f"{{py:obj}}`~{path}`" for path in code)


def readings_markdown() -> str:
    """The book page (MyST markdown): title, intro, an overview table, then one section per paper with a
    definition list per entry (label ``readings-<key>``; code as ``{py:obj}`` roles into the API page)."""
    n_dep = sum(r.kind == "departure" for r in READINGS)
    out = ["(readings)=", "# Readings and departures", "",
           "Papers leave things open, and official code does not always do what its paper says. Each entry "
           "below names what the paper (or its official code) says, what this library does, the evidence "
           f"for the choice and the code that implements it: {len(READINGS) - n_dep} readings of an ambiguous "
           f"text and {n_dep} departures from the paper or its official code. The page is generated from "
           "`actionrec.papers.readings.READINGS`, which the library's docstrings point to by key, so code and "
           "page say the same.", "",
           "| key | paper | topic | kind |", "|---|---|---|---|"]
    out += [f"| `{r.key}` | {PAPERS[r.paper][0]} | {{ref}}`{r.topic} <readings-{r.key}>` | {r.kind} |" for r in READINGS]
    for paper, (name, title, bib) in PAPERS.items():
        out += ["", f"## {name}", "", f"*{title}* {{cite}}`{bib}`.", ""]
        for r in readings_of(paper):
            out += [f"(readings-{r.key})=", f"### {r.topic}", "", f"**{r.kind.capitalize()}** · key `{r.key}`", "",
                    "The paper says", f": {r.paper_says}", "", "We do", f": {r.we_do}", "",
                    "Evidence", f": {r.evidence}", "", "Code", f": {_code_roles(r.code)}", ""]
    return "\n".join(out).rstrip() + "\n"
