"""Cost of one curves frame as the run grows: the workbench's PlotsPanel vs naive plotting.

For N points per curve (3 tasks: train loss, weights; plus the objective and lr), times one
full redraw and the paint it triggers. The baseline, in the same run, is a plain pyqtgraph
PlotWidget given all N points of each curve with no downsampling or clipping.

Then the first paint on coming back to the Curves tab, with and without the curves'
pixmap caches.

    python benchmarks/bench_plots.py            # offscreen unless DISPLAY is set
"""

from __future__ import annotations

import os
import time

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from workbench.gui.plots_panel import PlotsPanel

TASKS = ("scene", "objects", "masks")


def frame_ms(widget, update, app, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        update()
        widget.repaint()  # synchronous paint of the whole widget
        app.processEvents()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    app = QApplication.instance() or QApplication([])
    growth = []
    for n in (10_000, 100_000, 1_000_000):
        x = np.arange(1, n + 1, dtype=np.float64)
        rng = np.random.default_rng(0)
        ys = {t: 1 / np.sqrt(x) + 0.05 * rng.random(n) for t in TASKS}

        panel = PlotsPanel()
        panel.resize(1000, 800)
        panel.show()
        for t in TASKS:
            panel.add_points("train_loss", t, x, ys[t])
            panel.add_points("weight", t, x, np.ones(n))
        panel.add_points("weighted_loss", "", x, sum(ys.values()))
        panel.add_points("lr", "", x, np.linspace(1e-3, 0, n))
        ours = frame_ms(panel, lambda p=panel: p.redraw(force=True), app)

        naive = pg.PlotWidget()
        naive.resize(1000, 800)
        naive.show()
        curves = [naive.plot(x, ys[t]) for t in TASKS]

        def update(curves=curves, x=x, ys=ys):
            for c, t in zip(curves, TASKS, strict=True):
                c.setData(x, ys[t])

        base = frame_ms(naive, update, app)
        print(
            f"{n:>9,} points/curve: workbench full frame {ours:7.1f} ms (10 curves, 5 plots), "
            f"naive pyqtgraph {base:8.1f} ms (3 curves, 1 plot)"
        )
        growth.append((n, ours, base))
        panel.shutdown()
        panel.close()
        naive.close()
        app.processEvents()
    (n0, ours0, base0), (n1, ours1, base1) = growth[0], growth[-1]
    print(
        f"frame cost growth from {n0:,} to {n1:,} points: workbench x{ours1 / ours0:.2f}, "
        f"naive x{base1 / base0:.1f}"
    )

    tab_return(app)


def tab_return(app, rounds: int = 3) -> None:
    """Coming back to the Curves tab exposes every plot at once: the first paint, with each
    curve's pixmap cache (the panel's default) against the same panel with the caches off,
    in alternating rounds."""
    from PySide6.QtWidgets import QGraphicsItem, QTabWidget, QWidget

    for n in (10_000, 100_000):
        x = np.arange(1, n + 1, dtype=np.float64)
        rng = np.random.default_rng(0)
        results: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for cached in (True, False):
                tabs, panel = QTabWidget(), PlotsPanel()
                tabs.addTab(panel, "Curves")
                tabs.addTab(QWidget(), "other")
                tabs.resize(1000, 800)
                tabs.show()
                for t in TASKS:
                    panel.add_points("train_loss", t, x, 1 / np.sqrt(x) + 0.05 * rng.random(n))
                    panel.add_points("weight", t, x, np.ones(n))
                panel.add_points("weighted_loss", "", x, np.ones(n))
                panel.add_points("lr", "", x, np.linspace(1e-3, 0, n))
                panel.redraw(force=True)
                if not cached:
                    for curve in panel._curves.values():
                        for item in (curve.main, curve.faint):
                            for part in (item.curve, item.scatter) if item is not None else ():
                                part.setCacheMode(QGraphicsItem.CacheMode.NoCache)
                tabs.repaint()
                app.processEvents()
                best = float("inf")
                for _ in range(3):
                    tabs.setCurrentIndex(1)
                    app.processEvents()
                    t0 = time.perf_counter()
                    tabs.setCurrentIndex(0)
                    tabs.repaint()
                    app.processEvents()
                    best = min(best, time.perf_counter() - t0)
                results[cached].append(best * 1000)
                panel.shutdown()
                tabs.close()
                app.processEvents()
        on, off = sorted(results[True])[rounds // 2], sorted(results[False])[rounds // 2]
        print(
            f"tab return, {n:,} points/curve: first paint {on:.1f} ms with curve caches, "
            f"{off:.1f} ms without (x{off / on:.1f})"
        )


if __name__ == "__main__":
    main()
