"""How a BuildReport reads on screen: the figure cards (each with its source label) and the auto-fit summary."""

from __future__ import annotations

import html
import time
from typing import Any

from foldwise.gui.build.folding_table import short_name

VERDICTS = {"ok": "fits", "over_budget": "over budget", "over_capacity": "does not fit", "none": "–"}
VERDICT_COLOURS = {"fits": "#1e7e34", "over budget": "#b9770e", "does not fit": "#b03a2e"}


def si(value: float) -> str:
    """``1.25 M`` style (with a trailing space for the unit)."""
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g} "


def show_figures(cards: dict[str, Any], report: Any, gauge_state: str) -> None:
    """Throughput, latency, bottleneck and the fit verdict (from the gauges' worst state) on the cards."""
    fps, lat = report.fps, report.latency_ns
    cards["fps"].set_figure({"value": f"{fps.value:,.0f}", "unit": "fps", "source": fps.source} if fps else None)
    cards["latency_us"].set_figure({"value": f"{lat.value / 1000:,.1f}", "unit": "µs", "source": lat.source}
                                   if lat else None)
    if report.bottleneck:
        cards["bottleneck"].set_figure({"value": short_name(report.bottleneck), "source": "estimated"})
        cards["bottleneck"].value.setToolTip(f"{report.bottleneck}: {report.max_cycles or 0:,} cycles per frame")
    else:
        cards["bottleneck"].set_figure(None)
    verdict = VERDICTS[gauge_state]
    source = next(iter(report.resources.values())).source if report.resources else ""
    cards["fit"].set_figure({"value": verdict, "source": source})
    colour = VERDICT_COLOURS.get(verdict, "#333333")
    cards["fit"].value.setText(f"<span style='font-size:15pt; color:{colour}'><b>{verdict}</b></span>")


def origin_text(report: Any, origin: str, board: str, clock_mhz: float) -> str:
    """Where the figures come from, for which board and clock, and when."""
    clock = 1000 / report.clock_ns if report.clock_ns else clock_mhz
    return (f"<small>{html.escape(origin)} · {report.board or board} @ {clock:g} MHz · "
            f"{time.strftime('%H:%M:%S')}</small>")


def autofit_text(result: Any, budget: float) -> str:
    """Auto-fit's FPS against FINN SetFolding's best within the same budget, and their ratio."""
    fps = result.report.fps
    text = f"<b>Auto-fit:</b> {si(fps.value)}fps <i>({fps.source})</i>" if fps else "<b>Auto-fit</b>"
    if result.baseline is not None and result.baseline.fps is not None:
        text += (f"<br>FINN SetFolding best: {si(result.baseline.fps.value)}fps "
                 f"(target {result.baseline_target_fps:,}) → <b>×{result.ratio:.2f}</b>")
    elif result.sweep:
        text += "<br>FINN SetFolding found nothing within the budget"
    return text + (f"<br><small>within {budget:.0%} of LUT, BRAM, DSP and URAM; loaded into the editor "
                   "(Ctrl+Z undoes)</small>")


def bitfit_text(result: Any, budget: float) -> str:
    """The bit-width search: which layers lost bits, FPS before and after, validation accuracy before and after."""
    start, final = result.start, result.final
    lowered = [t for t in result.trials if t.accepted]
    if not lowered:
        return (f"<b>Bit widths:</b> no layer could lose a bit and gain ≥ 1 % FPS within "
                f"{result.max_loss_points:g} pt of validation accuracy; {si(start.fps or 0)}fps <i>(estimated)</i>")
    steps = ", ".join(f"{html.escape(t.layer)} {t.kind}{t.bits}" for t in lowered)
    return (f"<b>Bit widths:</b> {steps}<br>{si(start.fps or 0)}fps → <b>{si(final.fps or 0)}fps</b> "
            f"(×{result.gain:.2f}, estimated) · val {100 * start.accuracy:.1f} → {100 * final.accuracy:.1f} % "
            f"<i>(measured, post-training)</i><br><small>within {budget:.0%} of each resource; QAT may win back "
            "accuracy</small>")
