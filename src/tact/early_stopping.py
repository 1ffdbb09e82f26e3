"""Early stopping on the validation loss, with the record of the best epoch.

A training stops after ``patience`` epochs in a row without a lower validation loss; the best
epoch's weights are the ones kept. Only ``best_loss`` and ``bad_epochs`` go into checkpoints
(as they always have), and the best epoch follows from them: it is the last improvement,
``bad_epochs`` epochs ago.
"""

from __future__ import annotations

import math


class EarlyStopping:
    """Counts epochs since the validation loss last improved; says when to stop."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch: int | None = None  # 1-based, as the history's "epoch" column
        self.bad_epochs = 0
        self.should_stop = False

    def update(self, epoch: int, val_loss: float) -> bool:
        """Record epoch ``epoch``'s (1-based) validation loss; True when it is the best yet."""
        improved = val_loss < self.best_loss
        if improved:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
        else:
            self.bad_epochs += 1
        self.should_stop = self.bad_epochs >= self.patience
        return improved

    def restore(self, best_loss: float, bad_epochs: int, epochs_done: int) -> None:
        """The state a checkpoint saved after ``epochs_done`` epochs."""
        self.best_loss, self.bad_epochs = best_loss, bad_epochs
        improved_once = best_loss < math.inf
        self.best_epoch = epochs_done - bad_epochs if improved_once else None
        self.should_stop = epochs_done > 0 and bad_epochs >= self.patience
