import pytest
import torch
from torch.testing import assert_close

from stanhop.model import MODELS, DLinear, DLinearConfig, build_model
from stanhop.model.dlinear import decompose, moving_average


def naive_moving_average(x: torch.Tensor, k: int) -> torch.Tensor:
    """Loop over every step: the mean of the k steps around it, indices clamped to the
    series' ends (the same as repeating the first and last value)."""
    t = x.shape[1]
    front = (k - 1) // 2
    out = torch.empty_like(x)
    for i in range(t):
        idx = [min(max(j, 0), t - 1) for j in range(i - front, i - front + k)]
        out[:, i] = x[:, idx].mean(dim=1)
    return out


@pytest.mark.parametrize(("t", "k"), [(30, 25), (30, 5), (12, 25), (9, 4), (7, 1)])
def test_moving_average_matches_a_loop_with_edge_replication(t: int, k: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, t, 3, dtype=torch.float64)
    trend = moving_average(x, k)
    assert trend.shape == x.shape
    assert_close(trend, naive_moving_average(x, k))
    seasonal, trend2 = decompose(x, k)
    assert_close(seasonal + trend2, x)


def test_constant_and_linear_series_are_all_trend() -> None:
    t = torch.arange(40, dtype=torch.float64)
    x = torch.stack([torch.full_like(t, 3.0), 2 * t - 5], dim=-1)[None]  # (1, 40, 2)
    seasonal, trend = decompose(x, 5)
    assert_close(trend[0, :, 0], torch.full((40,), 3.0, dtype=torch.float64))
    # Away from the replicated ends a centred average leaves a straight line unchanged.
    assert_close(trend[0, 2:-2, 1], x[0, 2:-2, 1])
    assert_close(seasonal[0, 2:-2], torch.zeros(36, 2, dtype=torch.float64))


@pytest.mark.parametrize("individual", [False, True])
def test_forecast_is_a_linear_map_of_each_component(individual: bool) -> None:
    torch.manual_seed(0)
    cfg = DLinearConfig(n_series=3, in_len=20, out_len=6, kernel_size=5, individual=individual)
    model = DLinear(cfg).double()
    x = torch.randn(4, 20, 3, dtype=torch.float64)
    seasonal, trend = decompose(x, 5)
    expected = torch.empty(4, 6, 3, dtype=torch.float64)
    for c in range(3):
        i = c if individual else 0
        s_map, t_map = model.seasonal, model.trend
        seasonal_part = seasonal[:, :, c] @ s_map.weight[i].T + s_map.bias[i]
        trend_part = trend[:, :, c] @ t_map.weight[i].T + t_map.bias[i]
        expected[:, :, c] = seasonal_part + trend_part
    assert_close(model(x), expected)
    n_maps = 3 if individual else 1
    assert model.seasonal.weight.shape == (n_maps, 6, 20)


def test_shared_model_equals_individual_model_with_tiled_weights() -> None:
    torch.manual_seed(0)
    shared = DLinear(DLinearConfig(n_series=4, in_len=16, out_len=8, kernel_size=3))
    individual = DLinear(
        DLinearConfig(n_series=4, in_len=16, out_len=8, kernel_size=3, individual=True)
    )
    with torch.no_grad():
        for name, p in individual.named_parameters():
            p.copy_(shared.get_parameter(name).expand_as(p))
    x = torch.randn(5, 16, 4)
    assert_close(individual(x), shared(x))


def test_learns_a_seasonal_pattern_it_can_represent_exactly() -> None:
    """A period-4 signal shifted in time is a linear function of its history: 150 Adam
    steps drive the training error close to zero."""
    torch.manual_seed(0)
    base = torch.sin(torch.arange(200) * torch.pi / 2) + 0.5 * torch.cos(
        torch.arange(200) * torch.pi
    )
    windows = base.unfold(0, 24, 1)[:, :, None]  # (177, 24, 1)
    x, y = windows[:, :16], windows[:, 16:]
    model = build_model(
        {"name": "dlinear", "n_series": 1, "in_len": 16, "out_len": 8, "kernel_size": 5}
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4


def test_registered_and_validated() -> None:
    assert MODELS["dlinear"] == (DLinearConfig, DLinear)
    model = build_model({"name": "dlinear", "n_series": 2, "in_len": 10, "out_len": 3})
    assert model(torch.randn(1, 10, 2)).shape == (1, 3, 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 10, 2\)"):
        model(torch.randn(1, 10, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        DLinearConfig(n_series=2, in_len=10, out_len=3, kernel_size=0)
    with pytest.raises(ValueError, match=r"model=dlinear has no option model\.seg_len"):
        build_model({"name": "dlinear", "n_series": 2, "in_len": 10, "out_len": 3, "seg_len": 6})
