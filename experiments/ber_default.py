"""BER and SER of the default learned constellation against Gray 16-QAM, simulated on the same noise, with theory.

Writes figures/ber_default.{pdf,png}, figures/ber_default.csv (the ber-curve
CSV it is drawn from) with its settings in ber_default.json, and prints the table.

Run: python experiments/ber_default.py
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from _common import FIGURES, default_run

from commae import Modem, qam
from commae.plotting import new_figure, plot_error_rates, save_figure, style
from commae.simulation import simulate, write_results

EBNO_DB = [float(e) for e in range(0, 15)]


def main() -> None:
    model, run_dir = default_run()
    rows = simulate({"learned": model, "qam16": Modem(qam(16))}, EBNO_DB, target_errors=1000, max_bits=10**8, seed=0, theory=True, progress=False)
    FIGURES.mkdir(exist_ok=True)
    write_results(rows, FIGURES / "ber_default.csv", {"run": str(run_dir.name), "ebno_db": EBNO_DB, "target_errors": 1000, "max_bits": 10**8, "seed": 0})
    print(f"{'system':<8}{'Eb/N0':>6}{'BER':>11}{'SER':>11}{'SER theory':>12}{'bit errors':>12}")
    for r in rows:
        theory = "" if r["ser_theory"] != r["ser_theory"] else f"{r['ser_theory']:.3e}"
        print(f"{r['system']:<8}{r['ebno_db']:>6g}{r['ber']:>11.3e}{r['ser']:>11.3e}{theory:>12}{r['bit_errors']:>12}")
    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=2.7)
        plot_error_rates(rows, metric="ber", ax=axes[0, 0])
        plot_error_rates(rows, metric="ser", ax=axes[0, 1])
        axes[0, 0].set_title("(a) bit error rate")
        axes[0, 1].set_title("(b) symbol error rate")
        for path in save_figure(fig, FIGURES / "ber_default"):
            print(f"wrote {path.relative_to(FIGURES.parent)}")
        plt.close(fig)


if __name__ == "__main__":
    main()
