"""Callbacks that :func:`~commae.training.fit` calls after every epoch: TensorBoard logging.

A callback is any ``callable(epoch, history)``; pass a list of them as
``fit(..., callbacks=[...])`` (``commae train --tensorboard`` does so).

:class:`TensorBoardLogger` writes the epoch's row of the history — training
and validation loss, validation SER/BER/BLER, the MI bound in bits, the
learning rate — as scalars, and the learned constellation as an image,
through ``torch.utils.tensorboard``. It needs the optional ``tensorboard``
package (``pip install 'commae[tensorboard]'``); without it, constructing the
logger raises :class:`TensorBoardMissing` with that one line.

Examples
--------
>>> import tempfile
>>> from commae import Autoencoder, MessageBatches, fit, make_loss, make_optimizer
>>> model = Autoencoder(k=2, n=1)
>>> train = MessageBatches(2, 1, 256, 5, 7.0, seed=1)
>>> val = MessageBatches(2, 1, 1024, 1, 7.0, seed=2, fixed=True)
>>> with tempfile.TemporaryDirectory() as logdir:
...     with TensorBoardLogger(logdir, model=model) as tb:
...         history = fit(model, make_loss("ce", 2), train, val, make_optimizer("adam", model.parameters(), 1e-2),
...                       epochs=2, callbacks=[tb], progress=False, log=None)
...     tb.epochs_logged
[1, 2]
"""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from . import distributed as _dist

__all__ = ["TensorBoardLogger", "TensorBoardMissing", "SCALAR_TAGS"]

#: history column -> TensorBoard tag
SCALAR_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "val_ser": "error_rate/ser",
    "val_ber": "error_rate/ber",
    "val_bler": "error_rate/bler",
    "mi_bits": "mi_bits",
    "lr": "lr",
}


class TensorBoardMissing(ImportError):
    """The optional ``tensorboard`` package is not installed."""


class TensorBoardLogger:
    """Write each epoch's scalars (and the constellation) to a TensorBoard log directory.

    Parameters
    ----------
    log_dir : str or path
        Event files go here (``tensorboard --logdir`` it).
    model : nn.Module, optional
        An :class:`~commae.models.Autoencoder` whose constellation is drawn
        as the image ``constellation`` at epoch 1 and every ``image_every``
        epochs; without it, scalars only.
    image_every : int
        Epochs between constellation images.

    Notes
    -----
    Under ``torchrun`` only rank 0 writes; the other ranks' loggers do nothing.
    Use it as a context manager, or call :meth:`close`, to flush the files.
    """

    def __init__(self, log_dir: str | os.PathLike, model: nn.Module | None = None, image_every: int = 5) -> None:
        if image_every < 1:
            raise ValueError(f"image_every must be a positive integer, got {image_every}")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch raises ImportError when tensorboard is missing
            raise TensorBoardMissing("TensorBoard logging needs the tensorboard package: pip install 'commae[tensorboard]'") from None
        self.log_dir = os.fspath(log_dir)
        self.model = model
        self.image_every = image_every
        self.epochs_logged: list[int] = []
        self._writer = SummaryWriter(self.log_dir) if _dist.is_main() else None

    def __call__(self, epoch: int, history: Any) -> None:
        if self._writer is None:
            return
        row = history.last
        for column, tag in SCALAR_TAGS.items():
            if column in row:
                self._writer.add_scalar(tag, float(row[column]), epoch)
        if self.model is not None and hasattr(self.model, "constellation") and (epoch == 1 or epoch % self.image_every == 0):
            self._image(epoch)
        self.epochs_logged.append(epoch)
        self._writer.flush()

    def _image(self, epoch: int) -> None:
        from .plotting import plot_system_constellation, style

        was_training = self.model.training
        self.model.eval()
        try:
            with style("presentation"):
                axes = plot_system_constellation(self.model, bits=self.model.k <= 4 and self.model.n == 1)
                self._writer.add_figure("constellation", axes[0].figure, epoch, close=True)
        finally:
            self.model.train(was_training)

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
