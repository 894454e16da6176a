"""The paired design: seed k of every variant of a grid trains on the same rendered clips in the same
order and is evaluated on the same val/test clips, whatever the architecture (whose initialisation
consumes torch's global RNG differently); another seed draws another order of the same clips.

Every batch the training loop takes from its loaders is recorded (``actionrec.train.loop.make_loader``
wrapped) while ``run_grid`` trains four variants (c3d_small, frame_avg2d, MTNet-32 at r = 0.5 and
r = 1) with seeds 0 and 1."""

from __future__ import annotations

import pytest
import torch

from actionrec.experiments.grid import run_grid
from actionrec.train import TrainConfig, loop

pytestmark = pytest.mark.usefixtures("one_thread")

BASE = dict(dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"}, train_samples=48, val_samples=16,
            test_samples=16, epochs=2, batch_size=16, warmup_steps=1, device="cpu")
VARIANTS = {"c3d": dict(model="c3d_small", model_kwargs={"width": 0.125}), "frames": dict(model="frame_avg2d"),
            "r0.5": dict(model="mtnet32", model_kwargs={"r": 0.5, "width": 0.125}),
            "r1": dict(model="mtnet32", model_kwargs={"r": 1.0, "width": 0.125})}
STEPS_PER_EPOCH = 3  # 48 clips / batch 16


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """``{(variant, seed): [(train?, clips, labels, global torch RNG state at that batch), ...]}``: every
    batch the loop consumed, in order (3 train batches + 1 val batch per epoch, then 1 test batch)."""
    seen: dict[tuple[str, int], list] = {}
    run: dict[str, list] = {"batches": []}  # the batches of the run being trained
    real = loop.make_loader

    def recording(ds, cfg, *, train, **kw):
        loader = real(ds, cfg, train=train, **kw)

        class Recorded:
            def __iter__(self):
                for x, y in loader:
                    run["batches"].append((train, x.clone(), y.clone(), torch.get_rng_state()))
                    yield x, y

        return Recorded()

    mp, threads = pytest.MonkeyPatch(), torch.get_num_threads()
    mp.setattr(loop, "make_loader", recording)
    torch.set_num_threads(1)  # (a module fixture runs before the one_thread fixture)
    try:
        out = tmp_path_factory.mktemp("pairing")
        for name, fields in VARIANTS.items():
            for seed in (0, 1):
                run["batches"] = seen[name, seed] = []
                run_grid({name: TrainConfig(**BASE, **fields)}, [seed], out, progress=False)
    finally:
        mp.undo()
        torch.set_num_threads(threads)
    return seen


def _train(record):
    return [(x, y) for train, x, y, _ in record if train]


def _eval(record):
    return [(x, y) for train, x, y, _ in record if not train]


def test_seed_k_of_every_variant_sees_identical_batches(batches):
    for seed in (0, 1):
        ref = batches["c3d", seed]
        assert [t for t, *_ in ref] == [True] * 3 + [False] + [True] * 3 + [False] * 2  # 2 epochs, then test
        for name in VARIANTS:
            got = batches[name, seed]
            assert len(got) == len(ref), name
            for k, ((t0, x0, y0, _), (t1, x1, y1, _)) in enumerate(zip(ref, got)):
                assert t0 == t1 and torch.equal(x0, x1) and torch.equal(y0, y1), f"{name} seed {seed} batch {k}"


def test_the_order_does_not_come_from_the_global_rng(batches):
    # the architectures leave torch's global RNG in different states (initialisation draws), yet the
    # batches above are identical: the order is drawn from its own generator, seeded by (seed, epoch)
    first = {name: batches[name, 0][0][3] for name in VARIANTS}
    assert not torch.equal(first["c3d"], first["frames"]) and not torch.equal(first["r0.5"], first["r1"])


def test_other_seeds_reorder_the_same_clips(batches):
    a, b = _train(batches["c3d", 0]), _train(batches["c3d", 1])
    assert not torch.equal(a[0][0], b[0][0])  # seed 1's first batch is another one
    assert not torch.equal(a[0][0], a[STEPS_PER_EPOCH][0])  # and each epoch has its own order
    for epoch in (0, 1):  # each epoch: a permutation of the same 48 rendered clips (the data seed is fixed)
        ea = torch.cat([x for x, _ in a[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]])
        eb = torch.cat([x for x, _ in b[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]])
        assert not torch.equal(ea, eb)
        assert sorted(map(_key, ea)) == sorted(map(_key, eb))
    va, vb = _eval(batches["c3d", 0]), _eval(batches["c3d", 1])  # val and test: the same clips, same order
    assert all(torch.equal(x0, x1) and torch.equal(y0, y1) for (x0, y0), (x1, y1) in zip(va, vb))


def _key(clip: torch.Tensor) -> bytes:
    return clip.numpy().tobytes()
