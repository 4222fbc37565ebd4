"""DepthPoseNet: the paper's architecture, configs as data, attention-gated stages."""

import pytest
import torch
from torch import nn

from depth_pose_ros.model.network import CONFIGS, DepthPoseNet, ModelConfig, parameter_count
from helpers import TINY

THREE_STAGES = TINY.with_changes(stages=3, initial=(3, 1, 32), refine=(3, 2, 32))
# The keys of a config in weights files written before the input contract was part of it.
OLD_KEYS = (
    "name", "width", "stages", "joints", "reduce_channels", "stage_channels", "initial",
    "refine", "input_size", "dropout", "attention", "batch_norm",
)  # fmt: skip


def test_paper_config_is_the_papers_network():
    model = DepthPoseNet(CONFIGS["paper"])
    assert parameter_count(model) == 28_687_166  # VGG-19[:10] + 2 reducing + 6 stages, K=21
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 12 and convs[0].in_channels == 1  # one depth channel
    assert [c.out_channels for c in convs[:10]] == [64, 64, 128, 128, 256, 256, 256, 256, 512, 512]
    assert convs[-1].out_channels == 128
    assert len(model.refinements) == 5
    with torch.inference_mode():
        stages = model.eval()(torch.zeros(1, 1, 64, 96), all_stages=True)
    assert len(stages) == 6
    assert CONFIGS["paper"].stride == 8
    assert stages[-1].shape == (1, 21, 64 // 8, 96 // 8)


@pytest.mark.parametrize("name", ["lite", "base"])
def test_named_configs_are_smaller_and_fully_convolutional(name):
    config = CONFIGS[name]
    model = DepthPoseNet(config).eval()
    assert parameter_count(model) < parameter_count(DepthPoseNet(CONFIGS["paper"])) / 5
    height, width = config.input_size
    with torch.inference_mode():
        out = model(torch.zeros(2, 1, height, width))
        full = model(torch.zeros(1, 1, 424, 512))
    assert out.shape == (2, 21, *config.heatmap_size)
    assert full.shape == (1, 21, 53, 64)


def test_config_round_trips_through_dicts():
    config = CONFIGS["lite"].with_changes(attention=True, batch_norm=True, depth_range=1.5)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_stride_follows_the_backbone_pooling():
    two_pools = TINY.with_changes(backbone=(16, "M", 16, "M", 32))
    model = DepthPoseNet(two_pools).eval()
    with torch.inference_mode():
        out = model(torch.zeros(1, 1, 64, 64))
    assert two_pools.stride == 4
    assert out.shape[2:] == two_pools.heatmap_size == (16, 16)
    with pytest.raises(ValueError, match="neither channels nor 'M'"):
        DepthPoseNet(TINY.with_changes(backbone=(16, "P")))


def test_an_upsampling_head_gives_finer_heatmaps_and_starts_as_the_stages_resized():
    """Each upsampling level halves the output's stride; the head starts as the last stage's
    heatmaps resized up (bilinear, 2x per level), so a head added to
    trained stages begins where they are, and the stages keep their own stride."""
    from torch.nn import functional

    for levels in (1, 2):
        config = TINY.with_changes(upsample=levels)
        assert (config.stage_stride, config.stride) == (8, 8 // 2**levels)
        assert ModelConfig.from_dict(config.to_dict()) == config
        torch.manual_seed(0)
        model = DepthPoseNet(config).eval()
        with torch.inference_mode():
            stages = model(torch.randn(2, 1, 64, 64), all_stages=True)
        assert [p.shape[2:] for p in stages] == [(8, 8), (8, 8), config.heatmap_size]
        assert config.heatmap_size == (64 // config.stride,) * 2
        resized = stages[-2]
        for _ in range(levels):
            resized = functional.interpolate(resized, scale_factor=2, mode="bilinear")
        torch.testing.assert_close(stages[-1], resized, atol=1e-6, rtol=0)
    assert TINY.stride == TINY.stage_stride == 8  # no head: the stages' heatmaps are the output


def test_configs_saved_before_the_input_contract_get_the_values_they_were_trained_with():
    old = {k: v for k, v in CONFIGS["lite"].to_dict().items() if k in OLD_KEYS}
    config = ModelConfig.from_dict(old)
    assert (config.depth_range, config.invalid_value) == (1.0, 1.0)
    assert (config.box_margin, config.heatmap_sigma, config.stride) == (1.25, 7.0, 8)
    assert config == CONFIGS["lite"]


def test_refinement_stages_read_features_and_the_previous_prediction():
    model = DepthPoseNet(THREE_STAGES)
    features = model.features.out_channels
    first = next(m for m in model.refinements[0].modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == features + 21


def test_attention_gated_stages_keep_the_previous_prediction_where_masked_out():
    model = DepthPoseNet(THREE_STAGES.with_changes(attention=True)).eval()
    shape = (1, 21, 8, 8)
    heatmaps = [torch.full(shape, float(t + 1)) for t in range(3)]
    masks = [torch.full((1, 1, 8, 8), m) for m in (0.25, 0.5, 0.75)]
    seen_inputs = []

    class Fake(nn.Module):
        def __init__(self, t):
            super().__init__()
            self.t = t

        def forward(self, x):
            seen_inputs.append(x)
            return heatmaps[self.t], masks[self.t]

    model.features = nn.Identity()
    model.initial = Fake(0)
    model.refinements = nn.ModuleList([Fake(1), Fake(2)])
    x = torch.ones(1, model.config.joints, 8, 8)
    predictions = model(x, all_stages=True)
    # P1 = H1; Pt = Ht + P(t-1) * (1 - M(t-1))
    assert torch.allclose(predictions[0], heatmaps[0])
    assert torch.allclose(predictions[1], heatmaps[1] + predictions[0] * (1 - 0.25))
    assert torch.allclose(predictions[2], heatmaps[2] + predictions[1] * (1 - 0.5))
    # stage t reads (F + P(t-1)) * M(t-1)
    expected = torch.cat([x, predictions[0]], 1) * 0.25
    assert torch.allclose(seen_inputs[1], expected)


def test_attention_adds_one_mask_channel_per_stage():
    plain, gated = (
        DepthPoseNet(THREE_STAGES),
        DepthPoseNet(THREE_STAGES.with_changes(attention=True)),
    )
    assert plain.initial.head.out_channels == 21
    assert gated.initial.head.out_channels == 22
    with torch.inference_mode():
        assert gated.eval()(torch.zeros(1, 1, 64, 64)).shape == (1, 21, 8, 8)


def test_dropout_acts_between_stages_only_in_training():
    model = DepthPoseNet(THREE_STAGES.with_changes(dropout=0.5))
    x = torch.randn(1, 1, 64, 64)
    model.eval()
    with torch.inference_mode():
        assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    b = model(x)
    assert not torch.equal(a, b)


def test_batch_norm_option_adds_normalisation_after_convolutions():
    model = DepthPoseNet(THREE_STAGES.with_changes(batch_norm=True))
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 12 + 1 + 2 * 2  # features, initial stage, two refinement stages
