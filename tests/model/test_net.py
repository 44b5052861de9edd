import pytest
import torch
from torch.testing import assert_close

from stanhop.model import MODELS, STanHopNet, build_model


@pytest.mark.parametrize(
    ("in_len", "out_len", "seg_len", "win_size", "n_series", "e_layers"),
    [
        (24, 12, 6, 2, 3, 2),
        (25, 7, 6, 2, 1, 3),  # neither length a multiple of seg_len
        (96, 24, 12, 4, 5, 3),
        (30, 30, 4, 1, 2, 2),  # no merging
        (13, 5, 13, 3, 4, 1),  # one segment in, one out
        (168, 48, 6, 2, 7, 3),
    ],
)
def test_output_shape(in_len, out_len, seg_len, win_size, n_series, e_layers, tiny_config) -> None:
    cfg = tiny_config(
        in_len=in_len,
        out_len=out_len,
        seg_len=seg_len,
        win_size=win_size,
        n_series=n_series,
        e_layers=e_layers,
    )
    model = STanHopNet(cfg)
    out = model(torch.randn(2, in_len, n_series))
    assert out.shape == (2, out_len, n_series)
    assert torch.isfinite(out).all()


def test_front_padding_repeats_the_first_step(tiny_config) -> None:
    torch.manual_seed(0)
    short = STanHopNet(tiny_config(in_len=20)).eval()  # 20 steps are padded to 4 segments of 6
    full = STanHopNet(tiny_config(in_len=24)).eval()
    full.load_state_dict(short.state_dict())
    x = torch.randn(2, 20, 3)
    padded = torch.cat([x[:, :1].expand(-1, 4, -1), x], dim=1)
    assert_close(short(x), full(padded))


def test_batch_elements_are_independent(tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config()).eval()
    x = torch.randn(4, 24, 3)
    assert_close(model(x)[1:2], model(x[1:2]))


def test_wrong_input_shape_is_a_clear_error(tiny_config) -> None:
    model = STanHopNet(tiny_config())
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 24, 3\)"):
        model(torch.randn(2, 24, 4))


def test_config_validation(tiny_config) -> None:
    with pytest.raises(ValueError, match="divisible"):
        tiny_config(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="seg_len"):
        tiny_config(seg_len=0)
    with pytest.raises(ValueError, match="unknown model"):
        build_model({"name": "transformer"})


def test_build_model_from_plain_dict_round_trips_the_config(tiny_config) -> None:
    cfg = tiny_config(hopfield={"normalizer": "entmax", "normalizer_kwargs": {"alpha_init": 1.3}})
    model = build_model({"name": "stanhop", **cfg.to_dict()})
    assert isinstance(model, MODELS["stanhop"][1])
    assert model.cfg == cfg


def test_every_accepted_merge_schedule_runs_and_too_few_segments_are_refused(tiny_config) -> None:
    refused = []
    for in_len in (24, 48, 96):
        for seg_len in (6, 12, 24):
            for win_size in (2, 3, 4):
                for e_layers in (1, 2, 3, 4):
                    sizes = {"in_len": in_len, "seg_len": seg_len, "win_size": win_size}
                    try:
                        cfg = tiny_config(**sizes, e_layers=e_layers)
                    except ValueError as err:
                        assert "would merge" in str(err)
                        refused.append((in_len, seg_len, win_size, e_layers))
                        continue
                    out = STanHopNet(cfg)(torch.randn(1, in_len, 3))
                    assert out.shape == (1, 12, 3)
    # 4 segments merged by 4 leave 1, which a third scale cannot pad to 4
    assert (96, 24, 4, 3) in refused
    # one segment merged by 2 is padded with itself
    assert (24, 24, 2, 4) not in refused
