"""Run under torchrun by test_distributed.py: `fit` with DDP keeps the parameters identical on every rank.

Before every training step after the first (i.e. after every optimiser step)
the batch iterator all-gathers the flattened parameters of every rank and
records whether they are bit-identical. Rank 0 writes a JSON report to
argv[1]: the checks made, whether all held, and the validation losses.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from commae import Autoencoder, MessageBatches, fit, make_loss, make_optimizer, message_metrics
from commae.distributed import all_gather_tensor, rank, setup, teardown, world_size
from commae.training import derive_seed


def main(report: str) -> None:
    setup("cpu")
    torch.manual_seed(1234 + rank())  # different initial weights on purpose: DDP must start every rank from rank 0's
    model = Autoencoder(k=2, n=1)
    k, n = model.k, model.n
    train = MessageBatches(k, n, 256, 15, 7.0, derive_seed(0, "train", rank()))
    val = MessageBatches(k, n, 4096, 1, 7.0, derive_seed(0, "val"), fixed=True)
    checks, identical = [], True

    def flat() -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def watched():
        nonlocal identical
        for i, batch in enumerate(train):
            if i > 0 or checks:  # after a step: every rank must hold the same parameters
                gathered = all_gather_tensor(flat())
                same = all(torch.equal(gathered[0], g) for g in gathered[1:])
                checks.append(same)
                identical &= same
            yield batch

    class Epochs:
        def __len__(self) -> int:
            return len(train)

        def __iter__(self):
            return watched()

    loss = make_loss("ce", k)
    opt = make_optimizer("adam", model.parameters(), lr=1e-2)
    history = fit(model, loss, Epochs(), val, opt, epochs=3, metrics=message_metrics(model, k), progress=False, log=None)
    final = all_gather_tensor(flat())
    identical &= all(torch.equal(final[0], g) for g in final[1:])
    if dist.get_rank() == 0:
        with open(report, "w") as fh:
            json.dump({"world": world_size(), "checks": len(checks), "identical": identical, "val_loss": history.column("val_loss"), "val_ser": history.column("val_ser")}, fh)
    teardown(barrier=True)


if __name__ == "__main__":
    main(sys.argv[1])
