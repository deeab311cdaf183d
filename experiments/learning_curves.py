"""How the optimiser and the learning rate shape convergence: SGD, SGD with momentum 0.9, Adam and AdamW at two learning rates.

Trains the default system (k = 4, n = 1, AWGN at Eb/N0 = 7 dB, symbol-wise CE) eight
times with a constant learning rate, 20 epochs each, the same seed, initial weights,
training draws and validation set. Writes figures/learning_curves.{pdf,png} and
figures/learning_curves.csv (every run's history), and prints the final numbers.

Run: python experiments/learning_curves.py
"""

from __future__ import annotations

import csv

import matplotlib.pyplot as plt
from _common import FIGURES, RUNS
from matplotlib.ticker import NullFormatter, ScalarFormatter

from commae.models import SystemConfig
from commae.plotting import new_figure, plot_learning_curves, save_figure, style
from commae.runs import train_run
from commae.training import TrainConfig

OPTIMISERS = [("SGD", dict(optimizer="sgd")), ("SGD+mom. 0.9", dict(optimizer="sgd", momentum=0.9)), ("Adam", dict(optimizer="adam")), ("AdamW", dict(optimizer="adamw", weight_decay=0.01))]
LEARNING_RATES = [1e-3, 1e-2]


def main() -> None:
    histories = {}
    rows = []
    print(f"{'optimiser':<14}{'lr':>7}{'val loss':>10}{'val SER':>11}{'MI (bit)':>10}")
    for name, options in OPTIMISERS:
        for lr in LEARNING_RATES:
            config = TrainConfig(lr=lr, schedule="constant", epochs=20, **options)
            result = train_run(SystemConfig(), config, RUNS / f"curves-{options['optimizer']}{'-mom' if options.get('momentum') else ''}-{lr:g}", force=True, progress=False, log=None)
            label = f"{name}, lr {lr:g}"
            histories[label] = result.history.rows
            last = result.history.last
            print(f"{name:<14}{lr:>7g}{last['val_loss']:>10.4f}{last['val_ser']:>11.3e}{last['mi_bits']:>10.3f}")
            rows += [{"optimizer": name, "lr": lr, **{k: v for k, v in r.items() if k != "seconds"}} for r in result.history.rows]
    FIGURES.mkdir(exist_ok=True)
    with open(FIGURES / "learning_curves.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=3.2)
        plot_learning_curves(histories, metric="loss", train=False, ax=axes[0, 0])
        plot_learning_curves(histories, metric="ser", ax=axes[0, 1])
        axes[0, 0].set_yscale("log")
        axes[0, 0].yaxis.set_major_formatter(ScalarFormatter())
        axes[0, 0].yaxis.set_minor_formatter(NullFormatter())
        axes[0, 0].set_yticks([0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0])
        axes[0, 0].set_ylabel("Validation loss (nats)")
        axes[0, 0].set_title("(a) validation cross-entropy")
        axes[0, 1].set_title("(b) validation SER")
        for ax in axes[0]:
            ax.get_legend().remove()
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=4)
        for path in save_figure(fig, FIGURES / "learning_curves"):
            print(f"wrote {path.relative_to(FIGURES.parent)}")
        plt.close(fig)


if __name__ == "__main__":
    main()
