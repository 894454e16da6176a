"""actionrec.viz.clips: the default normalisation is SynthActions', tensors and datasets are read without
viz importing torch, and the attribution overlay draws the frames, heatmap and curves it is given."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from actionrec import viz  # noqa: E402
from actionrec.data.synthactions import MEAN, STD  # noqa: E402


def test_default_normalisation_is_synthactions():
    assert (viz.SYNTH_MEAN, viz.SYNTH_STD) == (MEAN, STD)


def test_to_frames_reads_tensors_that_require_grad():
    clip = torch.zeros(3, 2, 4, 4, requires_grad=True)  # normalised grey: (0 * STD + MEAN) * 255
    frames = viz.to_frames(clip)
    assert frames.shape == (2, 4, 4, 3) and frames.dtype == np.uint8 and (frames == round(MEAN * 255)).all()
    with pytest.raises(ValueError, match="clip"):
        viz.to_frames(np.zeros((2, 4, 4), dtype=np.float32))


def test_clip_grid_treats_a_torch_dataset_as_a_dataset():
    ds = TensorDataset(torch.zeros(3, 3, 2, 4, 4), torch.tensor([0, 1, 1]))
    fig = viz.clip_grid(ds, classes=["a", "b"])  # one clip per class
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["0: a  (#0)", "1: b  (#1)"]
    plt.close(fig)
    fig = viz.clip_grid(list(torch.zeros(2, 3, 2, 4, 4)))  # a plain list: one row per clip
    assert len(fig.axes) == 2
    plt.close(fig)


def test_clip_attribution_overlay():
    frames = np.zeros((4, 6, 6, 3), dtype=np.uint8)
    heat = torch.zeros(4, 6, 6)
    heat[2, 3, 3] = 2.0
    fig = viz.plot_clip_attribution(frames, heat, window=(1.0, 2.0), curves={"ig": torch.tensor([0, 0.2, 0.8, 0])},
                                    title="t")
    assert len(fig.axes) == 5  # four frames and the curve panel
    assert fig.axes[2].get_images()[1].get_array().max() == 2.0
    np.testing.assert_allclose(fig.axes[4].get_lines()[0].get_ydata(), [0, 0.2, 0.8, 0], rtol=1e-6)
    assert fig.axes[1].get_title() == "1" and fig.axes[1].title.get_color() == "C2"  # inside the window
    plt.close(fig)
    with pytest.raises(ValueError, match="heat"):
        viz.plot_clip_attribution(frames, np.zeros((4, 5, 6)))
