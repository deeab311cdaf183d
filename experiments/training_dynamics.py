"""The seed's training dynamics, measured: optimiser × learning rate, SGD's O(1/√T) on a convex problem, and two classic mistakes.

1. The default autoencoder (k = 4, n = 1, AWGN, 7 dB) trained by SGD, SGD with
   momentum 0.9, Adam and AdamW (weight decay 0.01) at learning rates 1e-3,
   1e-2 and 1e-1 (constant), from the same seed, initial weights, training
   draws and validation set: train and validation loss and validation SER per
   epoch; the epoch at which each first comes within 5 % of its final
   validation loss.
2. SGD on least squares f(x) = ||Ax − b||² / 2N with a known optimum: the gap
   f(x̄_T) − f* of the averaged iterate of T steps with step c/√T (one sample
   a step), against T on log–log axes, beside full-batch gradient descent
   (step 1/L), with the O(1/√T) slope drawn, and the measured cost of a step of each.
3. Two mistakes: (a) a loop that forgets ``optimizer.zero_grad()`` — the
   gradient norm and the validation loss, for Adam and SGD; (b) validating a
   receiver with Dropout and BatchNorm without ``model.eval()`` — the
   validation SER and its spread over repeats of the same validation set.

Writes OUT/training_dynamics.{pdf,png,csv} (1), OUT/sgd_convex.{pdf,png,csv} (2),
OUT/training_mistakes.csv (3) and prints every number.

Run: python experiments/training_dynamics.py             (full; OUT = figures/)
     python experiments/training_dynamics.py --quick     (CI: small budgets, asserts directions)
     python experiments/training_dynamics.py --from-csv  (redraw both figures from OUT's training_dynamics.csv and sgd_convex.csv)
"""

from __future__ import annotations

import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import experiment_args, report_checks, write_csv
from torch import nn

from commae.losses import make_loss
from commae.models import SystemConfig
from commae.plotting import MARKERS, new_figure, plot_learning_curves, readable_log_axis, save_figure, style
from commae.runs import RunError, train_run
from commae.training import MessageBatches, TrainConfig, derive_seed, evaluate, fit, make_optimizer, message_metrics

OPTIMISERS = [("SGD", dict(optimizer="sgd")), ("SGD+mom. 0.9", dict(optimizer="sgd", momentum=0.9)), ("Adam", dict(optimizer="adam")), ("AdamW", dict(optimizer="adamw", weight_decay=0.01))]
LEARNING_RATES = [1e-3, 1e-2, 1e-1]


def within(history: list[dict], fraction: float = 0.05) -> int | None:
    """First epoch whose validation loss is within ``fraction`` of the final one (None if the run diverged)."""
    final = history[-1]["val_loss"]
    if not math.isfinite(final):
        return None
    return next(r["epoch"] for r in history if r["val_loss"] <= (1 + fraction) * final)


# --- 1. optimiser x learning rate ----------------------------------------------------------------


def optimisers(args, budget: dict) -> tuple[dict, list[dict], dict]:
    histories, rows, summary = {}, [], {}
    print(f"{'optimiser':<14}{'lr':>7}{'val loss':>10}{'val SER':>11}{'within 5 % at epoch':>21}")
    for name, options in OPTIMISERS:
        for lr in LEARNING_RATES:
            config = TrainConfig(lr=lr, schedule="constant", **budget, **options)
            run = args.runs / f"dynamics-{options['optimizer']}{'-mom' if options.get('momentum') else ''}-{lr:g}"
            try:
                history = train_run(SystemConfig(), config, run, force=True, progress=False, log=None).history.rows
            except RunError as exc:  # a diverged run is a result too
                print(f"{name:<14}{lr:>7g}  diverged: {str(exc)[:80]}")
                summary[(name, lr)] = dict(final=float("nan"), ser=float("nan"), epoch=None)
                continue
            histories[(name, lr)] = history
            epoch = within(history)
            summary[(name, lr)] = dict(final=history[-1]["val_loss"], ser=history[-1]["val_ser"], epoch=epoch)
            print(f"{name:<14}{lr:>7g}{history[-1]['val_loss']:>10.4f}{history[-1]['val_ser']:>11.3e}{epoch if epoch else '-':>21}")
            rows += [{"optimizer": name, "lr": lr, "within_5pct_epoch": epoch, **{k: v for k, v in r.items() if k != "seconds"}} for r in history]
    return histories, rows, summary


def read_histories(out) -> dict[tuple[str, float], list[dict]]:
    """The histories of the runs that did not diverge, by (optimiser, lr), as training_dynamics.csv holds them."""
    import csv

    histories: dict[tuple[str, float], list[dict]] = {}
    with open(out / "training_dynamics.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row.pop("optimizer"), float(row.pop("lr")))
            row.pop("within_5pct_epoch")
            histories.setdefault(key, []).append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""})
    return histories


def plot_optimisers(histories: dict, out) -> None:
    """training_dynamics.{pdf,png}: validation and training loss (top) and validation SER (bottom), one column per learning rate."""
    with style("ieee-wide"):
        fig, axes = new_figure(2, 3, height=4.6, sharex=True)
        for j, lr in enumerate(LEARNING_RATES):
            runs = {name: h for (name, rate), h in histories.items() if rate == lr}
            plot_learning_curves(runs, metric="loss", ax=axes[0, j])
            plot_learning_curves(runs, metric="ser", ax=axes[1, j])
            axes[0, j].set_title(f"({'abc'[j]}) lr {lr:g}: loss")
            axes[1, j].set_title(f"({'def'[j]}) lr {lr:g}: validation SER")
        for row in axes:  # one scale per row, so the learning rates compare at a glance
            low = min(ax.get_ylim()[0] for ax in row)
            high = max(ax.get_ylim()[1] for ax in row)
            for ax in row:
                ax.set_ylim(low, high)
                readable_log_axis(ax.yaxis)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        for ax in axes.flat:
            ax.get_legend().remove()
            ax.set_xlabel("Epoch" if ax in axes[1] else "")
        fig.legend(handles, labels, loc="outside lower center", ncols=5)
        for path in save_figure(fig, out / "training_dynamics"):
            print(f"wrote {path}")
        plt.close(fig)


# --- 2. SGD on a convex problem ------------------------------------------------------------------

SAMPLES, DIM = 20_000, 20
FLOOR = 1e-13  # GD gaps below this are float64 round-off of f (about 0.25 here), not convergence: not drawn


def plot_convex(rows: list[dict], out) -> None:
    """sgd_convex.{pdf,png}: the gap of SGD's averaged iterate and of full-batch GD against steps (a) and against per-sample gradients (b)."""
    sgd = [r for r in rows if r["method"] == "sgd"]
    gd = [r for r in rows if r["method"] == "gd" and r["gap"] >= FLOOR]
    T = np.array([r["steps"] for r in sgd])
    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=2.8)
        for ax, per_step, xlabel in ((axes[0, 0], (1, 1), "Steps $T$"), (axes[0, 1], (1, SAMPLES), "Per-sample gradients computed")):
            ax.errorbar(T * per_step[0], [r["gap"] for r in sgd], yerr=[r["gap_std"] for r in sgd], marker=MARKERS[0], label=r"SGD, averaged iterate $\bar x_T$, step $c/\sqrt{T}$")
            ax.plot([r["steps"] * per_step[1] for r in gd], [r["gap"] for r in gd], marker=MARKERS[1], linestyle="--", label="full-batch GD, last iterate, step $1/L$")
            ax.plot(T * per_step[0], sgd[-1]["gap"] * np.sqrt(T[-1] / T), linestyle=(0, (1, 1)), color="0.4", linewidth=0.8, label=r"slope of $O(1/\sqrt{T})$")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(r"$f(x) - f^\star$")
            ax.set_ylim(FLOOR / 10, 10)  # 1e-14 .. 10: decade ticks at even powers
        axes[0, 0].set_title("(a) against steps")
        axes[0, 1].set_title(f"(b) against work (a GD step is N = {SAMPLES} gradients)")
        handles, labels = axes[0, 1].get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("SGD"))  # SGD first, as drawn
        axes[0, 1].legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left")  # empty there: SGD ends before GD starts
        for path in save_figure(fig, out / "sgd_convex"):
            print(f"wrote {path}")
        plt.close(fig)


def read_convex(out) -> list[dict]:
    """The rows of sgd_convex.csv: method, steps, gap, gap_std."""
    import csv

    with open(out / "sgd_convex.csv", newline="") as fh:
        return [{"method": r["method"], "steps": int(r["steps"]), "gap": float(r["gap"]), "gap_std": float(r["gap_std"])} for r in csv.DictReader(fh)]


def least_squares(seed: int, samples: int, dim: int):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((samples, dim)) * np.logspace(0, -1.5, dim)  # column scales 1 .. 0.03: condition number ~1e3
    b = a @ rng.standard_normal(dim) + 0.5 * rng.standard_normal(samples)
    x_star = np.linalg.lstsq(a, b, rcond=None)[0]

    def f(x):
        return float(np.sum((a @ x - b) ** 2) / (2 * samples))

    return a, b, f, f(x_star)


def sgd_gap(a, b, f, f_star, steps: int, seed: int, c: float) -> float:
    """f(x̄_T) − f* after ``steps`` single-sample steps of size c/√T, x̄_T the average of the iterates."""
    rng = np.random.default_rng(seed)
    x, mean = np.zeros(a.shape[1]), np.zeros(a.shape[1])
    eta = c / math.sqrt(steps)
    for t, i in enumerate(rng.integers(0, len(a), steps), start=1):
        x -= eta * (a[i] @ x - b[i]) * a[i]
        mean += (x - mean) / t
    return f(mean) - f_star


def convex(args, quick: bool) -> tuple[list[dict], dict]:
    samples, dim = SAMPLES, DIM
    steps = [10, 30, 100, 300, 1000, 3000] + ([] if quick else [10_000, 30_000, 100_000])
    repeats = 3 if quick else 5
    a, b, f, f_star = least_squares(0, samples, dim)
    lipschitz = float(np.linalg.eigvalsh(a.T @ a / samples).max())
    c = 1.0 / float((a**2).sum(1).mean())  # per-sample step scale 1 / E||a_i||^2
    rows = []
    for T in steps:
        gaps = [sgd_gap(a, b, f, f_star, T, seed, c) for seed in range(repeats)]
        rows.append({"method": "sgd", "steps": T, "gap": float(np.mean(gaps)), "gap_std": float(np.std(gaps))})
    x = np.zeros(dim)
    done = 0
    for T in steps:
        while done < T:
            x -= (a.T @ (a @ x - b) / samples) / lipschitz
            done += 1
        rows.append({"method": "gd", "steps": T, "gap": max(f(x) - f_star, 0.0), "gap_std": 0.0})
        if f(x) - f_star < 1e-13:
            break
    # cost per step, measured
    x, reps = np.zeros(dim), 20_000 if not quick else 2000
    t0 = time.perf_counter()
    for i in range(reps):
        x -= 1e-3 * (a[i % samples] @ x - b[i % samples]) * a[i % samples]
    sgd_cost = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps // 20):
        x -= (a.T @ (a @ x - b) / samples) / lipschitz
    gd_cost = (time.perf_counter() - t0) / (reps // 20)
    sgd = [r for r in rows if r["method"] == "sgd"]
    slope = float(np.polyfit(np.log10([r["steps"] for r in sgd]), np.log10([r["gap"] for r in sgd]), 1)[0])
    tail = float(np.polyfit(np.log10([r["steps"] for r in sgd[-3:]]), np.log10([r["gap"] for r in sgd[-3:]]), 1)[0])
    info = dict(
        slope=slope,
        tail_slope=tail,
        falling=all(b["gap"] < a["gap"] for a, b in zip(sgd, sgd[1:])),
        sgd_cost=sgd_cost,
        gd_cost=gd_cost,
        flops_sgd=4 * dim,
        flops_gd=4 * samples * dim,
        samples=samples,
        dim=dim,
    )
    print(f"\nleast squares N={samples}, d={dim}: SGD (averaged, step {c:.3g}/sqrt(T)) gap slope {slope:.2f} per decade of T, {tail:.2f} over the last three points (the worst-case rate: -0.5)")
    for r in sgd:
        print(f"  T={r['steps']:>7}: SGD gap {r['gap']:.3e} ± {r['gap_std']:.1e}" + "".join(f"   GD gap {g['gap']:.3e}" for g in rows if g["method"] == "gd" and g["steps"] == r["steps"]))
    print(f"  cost per step: SGD {sgd_cost * 1e6:.1f} µs (~{4 * dim} flops), GD {gd_cost * 1e6:.1f} µs (~{4 * samples * dim} flops), ratio {gd_cost / sgd_cost:.0f}")
    return rows, info


# --- 3. mistakes ---------------------------------------------------------------------------------


def forgetful(optimizer_name: str, lr: float, steps: int, zero_grad: bool, val) -> dict:
    torch.manual_seed(0)
    model = SystemConfig().build()
    loss_fn = make_loss("ce", 4)
    optimizer = make_optimizer(optimizer_name, model.parameters(), lr)
    batches = MessageBatches(4, 1, 1024, steps, 7.0, seed=derive_seed(0, "train"))
    norms = []
    model.train()
    for (messages, no, gen), labels in batches:
        if zero_grad:
            optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(messages, no, gen), labels)
        loss.backward()
        norms.append(float(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))))
        optimizer.step()
    result = evaluate(model, loss_fn, val, message_metrics(model, 4))
    return {"optimizer": optimizer_name, "lr": lr, "zero_grad": zero_grad, "grad_norm_first": norms[0], "grad_norm_last": norms[-1], "val_loss": result["val_loss"], "val_ser": result["val_ser"]}


def eval_mode(steps_epochs: tuple[int, int], repeats: int, val) -> dict:
    torch.manual_seed(0)
    model = SystemConfig().build()
    width = 128
    model.receiver.net = nn.Sequential(
        nn.Linear(2, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(0.3), nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(0.3), nn.Linear(width, 16)
    )
    loss_fn = make_loss("ce", 4)
    batches, epochs = steps_epochs
    train = MessageBatches(4, 1, 1024, batches, 7.0, seed=derive_seed(0, "train"))
    optimizer = make_optimizer("adam", model.parameters(), 3e-3)
    fit(model, loss_fn, train, val, optimizer, epochs, metrics=message_metrics(model, 4), progress=False, log=None)

    def ser(train_mode: bool) -> float:
        model.train(train_mode)
        with torch.no_grad():
            wrong = total = 0
            for (messages, no, gen), labels in val:
                wrong += int((model(messages, no, gen).argmax(-1) != labels).sum())
                total += len(labels)
        return wrong / total

    right = [ser(False) for _ in range(repeats)]
    wrong = [ser(True) for _ in range(repeats)]  # BatchNorm also updates its running statistics here: a side effect
    after = ser(False)
    return {
        "eval_ser_mean": float(np.mean(right)),
        "eval_ser_std": float(np.std(right)),
        "eval_ser_identical": len(set(right)) == 1,
        "train_mode_ser_mean": float(np.mean(wrong)),
        "train_mode_ser_std": float(np.std(wrong)),
        "train_mode_ser_min": float(np.min(wrong)),
        "train_mode_ser_max": float(np.max(wrong)),
        "eval_ser_after_train_mode_validation": after,
        "repeats": repeats,
    }


def mistakes(args, quick: bool) -> tuple[list[dict], dict]:
    val = MessageBatches(4, 1, 1 << 15, 1 if quick else 3, 7.0, seed=derive_seed(0, "val"), fixed=True)
    steps = 150 if quick else 600
    rows = [forgetful(name, lr, steps, zero, val) for name, lr in (("adam", 3e-3), ("sgd", 1e-2)) for zero in (True, False)]
    print(f"\n(a) {steps} steps with and without optimizer.zero_grad():")
    for r in rows:
        print(
            f"  {r['optimizer']:<5} lr {r['lr']:<6g} zero_grad={str(r['zero_grad']):<5}  |grad| first {r['grad_norm_first']:.3f} last {r['grad_norm_last']:9.3f}"
            f"   val loss {r['val_loss']:.4f}  SER {r['val_ser']:.3e}"
        )
    dropout = eval_mode((20, 3) if quick else (100, 10), 5 if quick else 20, val)
    print(f"\n(b) receiver with Dropout(0.3) and BatchNorm, validated {dropout['repeats']} times on the same set:")
    print(f"  model.eval():      SER {dropout['eval_ser_mean']:.4e}, the same in all {dropout['repeats']} repeats: {dropout['eval_ser_identical']}")
    print(
        f"  without eval():    SER {dropout['train_mode_ser_mean']:.4e} ± {dropout['train_mode_ser_std']:.1e} (min {dropout['train_mode_ser_min']:.4e}, max {dropout['train_mode_ser_max']:.4e}),"
        f" {dropout['train_mode_ser_mean'] / dropout['eval_ser_mean']:.2f}x the true SER"
    )
    print(f"  model.eval() again after those validations: SER {dropout['eval_ser_after_train_mode_validation']:.4e} (BatchNorm's running statistics moved)")
    write_csv(args.out / "training_mistakes.csv", [{"part": "zero_grad", **r} for r in rows] + [{"part": "eval", **dropout}])
    return rows, dropout


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        plot_optimisers(read_histories(args.out), args.out)
        plot_convex(read_convex(args.out), args.out)
        return
    quick = args.quick
    budget = dict(epochs=12, batches_per_epoch=50, val_size=20_000) if not quick else dict(epochs=3, batches_per_epoch=8, batch_size=512, val_size=4096)
    _, rows, summary = optimisers(args, budget)
    write_csv(args.out / "training_dynamics.csv", rows)
    plot_optimisers(read_histories(args.out), args.out)  # as the CSVs hold them: a --from-csv redraw is this figure
    convex_rows, info = convex(args, quick)
    write_csv(args.out / "sgd_convex.csv", convex_rows)
    plot_convex(read_convex(args.out), args.out)
    zero_rows, dropout = mistakes(args, quick)

    by = {(r["optimizer"], r["zero_grad"]): r for r in zero_rows}
    checks = {
        "Adam at lr 1e-3 ends below plain SGD at lr 1e-3 (validation loss)": summary[("Adam", 1e-3)]["final"] < summary[("SGD", 1e-3)]["final"],
        "SGD's averaged-iterate gap falls at every T, with a fitted log-log slope between -1 and -0.3 (about 1/sqrt(T))": info["falling"] and -1.0 <= info["slope"] <= -0.3,
        "a full-batch GD step costs more than 5 SGD steps (measured time)": info["gd_cost"] > 5 * info["sgd_cost"],
        "without zero_grad the gradient norm grows (last > 5x the correct loop's), for Adam and SGD": all(
            by[(o, False)]["grad_norm_last"] > 5 * by[(o, True)]["grad_norm_last"] for o in ("adam", "sgd")
        ),
        "without zero_grad Adam ends worse (higher validation loss)": by[("adam", False)]["val_loss"] > by[("adam", True)]["val_loss"],
        "validation without eval() overstates the SER": dropout["train_mode_ser_mean"] > dropout["eval_ser_mean"],
        "validation without eval() is noisy across repeats; with eval() it is exact": dropout["train_mode_ser_std"] > 0 and dropout["eval_ser_identical"],
    }
    if not quick:
        checks["SGD with momentum 0.9 at lr 1e-3 ends within 10 % of plain SGD at lr 1e-2 (momentum multiplies the step by 10)"] = (
            abs(summary[("SGD+mom. 0.9", 1e-3)]["final"] / summary[("SGD", 1e-2)]["final"] - 1) < 0.1
        )
    report_checks(checks)


if __name__ == "__main__":
    main()
