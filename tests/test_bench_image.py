"""The benchmark workloads train the same network in both frameworks: equal losses step by step
(a whole conv / pool / batch-norm, LSTM, or GPT training step with Adam checked against PyTorch)."""
import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from mlseries.bench import WORKLOADS

torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["cnn", "resblock", "lstm", "gpt"])
def test_image_workload_losses_match_torch(name):
    ours, theirs = WORKLOADS[name]("mlseries"), WORKLOADS[name]("torch")
    with threadpool_limits(1, user_api="blas"):  # two BLAS threads crawl on a busy 2-core machine
        for _ in range(3):
            np.testing.assert_allclose(ours.step(), theirs.step(), rtol=2e-4)
