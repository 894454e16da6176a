"""actionrec.train.multigrid: the schedule (Wu et al. 2020, PySlowFast's numbers) and batch resampling."""

import pytest
import torch
import torch.nn.functional as F

from actionrec.train.multigrid import MultigridSchedule, Phase, Shape, plot_schedule, resample_clip

BASE = dict(base_frames=16, base_size=112, base_batch=32)


def voxels(s) -> int:
    return s.frames * s.size**2 * s.batch


def test_default_schedule_table():
    """16x112², batch 32, 30 epochs, long+short, LR decays at 1/2 and 3/4: PySlowFast's formulas by hand.

    Average batch multipliers per long-cycle shape (short cycle included): 32/3, 16/3, 14/3, 7/3
    (sum 23, mean 5.75). Stage 0 spans 0.5 of training, stage 1 0.25, the final phase
    0.25 * (7/3) / 5.75; scaled to 30 epochs, the cumulative ends round to 8, 12, 16, 18 | 22, 24, 26,
    26 (empty, dropped) | 30.
    """
    s = MultigridSchedule(16, 112, 32, 30)
    assert s.phases == [Phase(0, 4, 79, 256), Phase(8, 8, 79, 128), Phase(12, 8, 112, 64), Phase(16, 16, 112, 32),
                        Phase(18, 4, 79, 256), Phase(22, 8, 79, 128), Phase(24, 8, 112, 64), Phase(26, 16, 112, 32)]
    assert s.final_epoch == 26 and s.epochs == 30
    assert s.lr_decay_epochs == [18, 28]  # start of stage 1, middle of the final phase
    # long cycle only: same rule with average batches 8, 4, 2, 1
    s = MultigridSchedule(16, 112, 32, 30, short=False)
    assert [p.first_epoch for p in s.phases] == [0, 10, 15, 17, 18, 23, 26, 27, 28]


@pytest.mark.parametrize("base", [(16, 112, 32), (8, 64, 16), (32, 224, 8), (16, 32, 4)])
@pytest.mark.parametrize("short", [True, False])
def test_constant_work_per_batch(base, short):
    frames, size, batch = base
    s = MultigridSchedule(frames, size, batch, 40, short=short)
    ref = frames * size**2 * batch
    for e in range(s.epochs):
        for shape in s.cycle(e):
            assert shape.batch % batch == 0  # integer multiples of the base batch (PySlowFast)
            assert voxels(shape) == pytest.approx(ref, rel=0.12)  # rounding of sizes and multipliers
    if base == (16, 112, 32):  # the default shapes are within 1%
        assert all(voxels(sh) == pytest.approx(ref, rel=0.01) for e in range(s.epochs) for sh in s.cycle(e))
    # the long cycle really changes the shape (coarse first)
    assert s.epoch_shape(0).frames == frames // 4 and s.epoch_shape(0).batch > batch


@pytest.mark.parametrize("epochs", [1, 2, 3, 7, 30, 100])
@pytest.mark.parametrize("kw", [{}, {"short": False}, {"lr_steps": (0.4, 0.6, 0.8)}, {"epoch_factor": 1.5}])
def test_final_phase_is_base_shape(epochs, kw):
    s = MultigridSchedule(16, 112, 32, epochs, **kw)
    assert s.phases[-1][1:] == (16, 112, 32)
    assert s.final_epoch is not None and s.final_epoch <= s.epochs - 1
    assert s.epoch_shape(s.epochs - 1) == Shape(16, 112, 32, 1.0)
    firsts = [p.first_epoch for p in s.phases]
    assert firsts[0] == 0 and firsts == sorted(set(firsts))  # no empty phases
    if "epoch_factor" in kw:
        assert s.epochs == round(epochs * 1.5)


def test_final_short_false_trains_final_phase_at_base_only():
    s = MultigridSchedule(16, 112, 32, 30, final_short=False)
    assert all(s.at(e, k) == Shape(16, 112, 32, 1.0) for e in range(s.final_epoch, 30) for k in range(6))
    assert s.at(s.final_epoch - 1, 0).size == 56  # the short cycle still runs before it


def test_short_cycle_cycles_through_sizes():
    s = MultigridSchedule(16, 112, 32, 30)
    last = s.epochs - 1
    assert [s.at(last, k).size for k in range(7)] == [56, 79, 112, 56, 79, 112, 56]
    assert [s.at(last, k).batch for k in range(3)] == [128, 64, 32]
    assert all(s.at(last, k).frames == 16 for k in range(3))
    # coarse long-cycle phase: sizes relative to the base size, batches relative to the phase's batch
    assert [(s.at(0, k).frames, s.at(0, k).size, s.at(0, k).batch) for k in range(3)] == \
        [(4, 56, 512), (4, 79, 256), (4, 79, 256)]
    # short cycle only: base frames all along
    s = MultigridSchedule(16, 112, 32, 10, long=False)
    assert s.phases == [Phase(0, 16, 112, 32)] and s.final_epoch is None
    assert [s.at(9, k).size for k in range(3)] == [56, 79, 112]
    # neither: the plain base shape
    s = MultigridSchedule(16, 112, 32, 10, long=False, short=False)
    assert {s.at(e, k) for e in range(10) for k in range(4)} == {Shape(16, 112, 32, 1.0)}


def test_lr_scale_is_batch_ratio():
    s = MultigridSchedule(16, 112, 32, 30)
    for e in range(s.epochs):
        long_shape = s.epoch_shape(e)
        assert long_shape.lr_scale == long_shape.batch / 32
        assert all(s.at(e, k).lr_scale == long_shape.lr_scale for k in range(3))  # PySlowFast: long-cycle lr
    s = MultigridSchedule(16, 112, 32, 30, short_lr_scaling=True)
    assert all(s.at(e, k).lr_scale == s.at(e, k).batch / 32 for e in range(s.epochs) for k in range(3))
    assert s.at(0, 0).lr_scale == 16.0


def test_stepwise_lr_factor_matches_pyslowfast_relative_lrs():
    s = MultigridSchedule(16, 112, 32, 30)
    assert s.stepwise_lr_factor(0) == 8.0  # stage 0, batch 256 = 8x
    assert s.stepwise_lr_factor(17) == 1.0
    assert s.stepwise_lr_factor(18) == pytest.approx(0.8)  # stage 1
    assert s.stepwise_lr_factor(27) == pytest.approx(0.1)  # final phase, first half
    assert s.stepwise_lr_factor(29) == pytest.approx(0.01)  # second half


def test_steps_per_epoch_counts_the_cycle():
    s = MultigridSchedule(4, 32, 2, 6, min_size=8)
    n = 1000
    for e in range(s.epochs):
        sizes = [sh.batch for sh in s.cycle(e)]
        steps = s.steps_per_epoch(e, n)
        full = sum(sizes[k % len(sizes)] for k in range(steps))  # the steps' clips fit in n ...
        assert full <= n < full + sizes[steps % len(sizes)]  # ... and the next step's batch would not
        assert s.steps_per_epoch(e, n, drop_last=False) == steps + (full < n)
    assert s.total_steps(n) == sum(s.steps_per_epoch(e, n) for e in range(s.epochs))
    plain = MultigridSchedule(4, 32, 2, 6, long=False, short=False)
    assert plain.total_steps(n) == 6 * (n // 2)
    # per-process batches
    assert s.steps_per_epoch(0, n // 2, divide_by=2) == s.steps_per_epoch(0, n)
    with pytest.raises(ValueError, match="divide_by=3"):
        s.steps_per_epoch(0, n, divide_by=3)


def test_resample_identity_when_shapes_equal():
    x = torch.randn(2, 3, 8, 16, 16)
    assert resample_clip(x, 8, 16) is x


def test_temporal_subsample_picks_uniform_frames():
    t = torch.arange(16.0).view(1, 1, 16, 1, 1).expand(2, 3, 16, 4, 4)  # (B, C, T, H, W): value = frame
    assert resample_clip(t, 4, 4)[0, 0, :, 0, 0].tolist() == [0, 4, 8, 12]
    assert resample_clip(t, 8, 4)[1, 2, :, 3, 3].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert resample_clip(t, 6, 4)[0, 0, :, 0, 0].tolist() == [0, 2, 5, 8, 10, 13]
    assert resample_clip(t[:, :, :4], 8, 4)[0, 0, :, 0, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_spatial_resize_is_per_frame_bilinear_and_centre_crops():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 16, 16)
    y = resample_clip(x, 4, 8, antialias=False)
    assert y.shape == (2, 3, 4, 8, 8)
    # bilinear 2x shrink (align_corners=False) averages 2x2 blocks: no frame/channel mixing
    torch.testing.assert_close(y, F.avg_pool3d(x, (1, 2, 2)))
    z = resample_clip(x, 2, 11)
    ref = F.interpolate(x[:, :, 2], size=(11, 11), mode="bilinear", align_corners=False, antialias=True)
    torch.testing.assert_close(z[:, :, 1], ref)  # frame 1 of 2 = input frame 2
    wide = torch.arange(8.0).expand(1, 1, 2, 4, 8)  # value = column index
    assert resample_clip(wide, 2, 4)[0, 0, 0, 0].tolist() == [2, 3, 4, 5]  # centre 4x4 square
    assert resample_clip(torch.ones(1, 3, 4, 9, 9), 4, 5).allclose(torch.ones(1, 3, 4, 5, 5))


def test_resample_any_device():
    x = torch.empty(2, 3, 16, 24, 20, device="meta")
    y = resample_clip(x, 4, 7)
    assert y.device.type == "meta" and y.shape == (2, 3, 4, 7, 7)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="epochs=0"):
        MultigridSchedule(16, 112, 32, 0)
    with pytest.raises(ValueError, match="base_frames=2 is too small"):
        MultigridSchedule(2, 112, 32, 10)
    with pytest.raises(ValueError, match="base_size=1 is too small"):
        MultigridSchedule(16, 1, 32, 10)
    with pytest.raises(ValueError, match="base_size=32 is too small.*min_size=32"):
        MultigridSchedule(16, 32, 32, 10, min_size=32)
    MultigridSchedule(16, 32, 32, 10, min_size=32, long=False, short=False)  # fine at the base shape
    with pytest.raises(ValueError, match="base_batch"):
        MultigridSchedule(16, 112, 0, 10)
    with pytest.raises(ValueError, match="lr_steps"):
        MultigridSchedule(16, 112, 32, 10, lr_steps=(0.75, 0.5))
    with pytest.raises(ValueError, match="long_factors"):
        MultigridSchedule(16, 112, 32, 10, long_factors=[(0.5, 0.5)])
    with pytest.raises(ValueError, match="short_factors"):
        MultigridSchedule(16, 112, 32, 10, short_factors=[1.5])
    with pytest.raises(ValueError, match="epoch_factor"):
        MultigridSchedule(16, 112, 32, 10, epoch_factor=0)
    s = MultigridSchedule(16, 112, 32, 10)
    with pytest.raises(ValueError, match=r"epoch=10 must be an int in \[0, 10\)"):
        s.at(10, 0)
    with pytest.raises(ValueError, match="step=-1"):
        s.at(0, -1)
    with pytest.raises(ValueError, match=r"x must be a \(B, C, T, H, W\) tensor"):
        resample_clip(torch.zeros(3, 16, 8, 8), 8, 8)
    with pytest.raises(TypeError, match="floating-point"):
        resample_clip(torch.zeros(1, 3, 16, 8, 8, dtype=torch.uint8), 8, 4)
    with pytest.raises(ValueError, match="frames=0"):
        resample_clip(torch.zeros(1, 3, 16, 8, 8), 0, 4)
    with pytest.raises(ValueError, match="size=0"):
        resample_clip(torch.zeros(1, 3, 16, 8, 8), 8, 0)


def test_summary_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = MultigridSchedule(16, 112, 32, 30)
    text = s.summary()
    assert "final" in text and "56/512" in text and len(text.splitlines()) == 2 + len(s.phases) + 1
    assert 0 < s.relative_cost() < 30 and s.epoch_cost(s.epochs - 1) < 1  # short cycle cheapens the base
    assert MultigridSchedule(16, 112, 32, 30, long=False, short=False).relative_cost() == 30
    ax = plot_schedule(s)
    assert len(ax.get_lines()) >= 3 and ax.get_xlim() == (0, 30)
    fig, ax2 = plt.subplots()
    assert plot_schedule(MultigridSchedule(16, 112, 32, 5, long=False), ax=ax2) is ax2
    plt.close("all")
