"""The operator counter behind the thread choice and bench/step_time.py."""

import torch

from stanhop.runtime.operators import count_operators


def test_counts_each_dispatched_operator_by_name() -> None:
    x = torch.ones(3)
    counts = count_operators(lambda: (x + 1).mul_(2).sum())
    assert counts == {"add": 1, "mul_": 1, "sum": 1}


def test_a_fused_optimizer_step_is_a_few_operators_and_a_loop_many() -> None:
    params = [torch.nn.Parameter(torch.randn(4)) for _ in range(20)]
    for p in params:
        p.grad = torch.randn(4)
    fused = torch.optim.AdamW(params, fused=True)
    loop = torch.optim.AdamW(params, foreach=False)
    # The first step also creates the optimiser state.
    fused.step()
    loop.step()
    assert sum(count_operators(fused.step).values()) < 10
    assert sum(count_operators(loop.step).values()) >= 5 * len(params)
