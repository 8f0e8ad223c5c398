"""The first-layer kernel view: a colour model's kernels are small colour pictures, a gray model's are red–blue
heat maps, and a network without a convolution says so instead of failing."""

import numpy as np
import pytest

from cnnkit.train.charts import first_conv, kernels_figure
from tests.support.built_nets import SPECS, built_checkpoint, folder_checkpoint


def test_a_colour_models_kernels_are_colour_pictures_each_on_its_own_scale():
    model = folder_checkpoint("conv(10,5) relu flatten linear").model
    (image,) = kernels_figure(model, "en").data
    assert image.type == "image"
    z = np.asarray(image.z)
    assert z.dtype == np.uint8 and z.shape == (2 * 6 - 1, 8 * 6 - 1, 3)  # 10 kernels of 5×5, 8 to a row
    weights = first_conv(model).weight.detach().numpy()
    last = weights[9]  # row 1, column 1: its pixels are its weights as colours, 0 mid-grey, its largest at an end
    shown = z[6:11, 6:11].astype(float) / 255
    assert np.allclose(shown, 0.5 + 0.5 * last.transpose(1, 2, 0) / np.abs(last).max(), atol=1 / 255)
    assert (shown.max() > 0.99 or shown.min() < 0.01) and np.ptp(shown, axis=2).max() > 0.05  # coloured, not grey
    assert (z[:, 5] == 255).all() and (np.asarray(image.customdata)[6:11, 6:11] == 10).all()  # white gaps, numbers
    assert kernels_figure(model, "ru").layout.title.text == "Ядра первой свёртки: 10"


@pytest.mark.parametrize(
    "make",
    [lambda: built_checkpoint(SPECS["stride2"]), lambda: folder_checkpoint(channels=1, size=48)],
    ids=["digits", "gray folder"],
)
def test_a_gray_models_kernels_stay_a_heat_map(make):
    (heat,) = kernels_figure(make().model, "en").data
    assert heat.type == "heatmap" and np.asarray(heat.z, dtype=float).ndim == 2 and heat.zmin == -heat.zmax


def test_a_network_without_convolution_has_no_kernels():
    assert first_conv(built_checkpoint(SPECS["no_conv"]).model) is None
