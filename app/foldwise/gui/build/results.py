"""How a BuildReport reads on screen: the figure cards (each with its source label) and the auto-fit summary."""

from __future__ import annotations

import html
import time
from typing import Any

from foldwise.core.protocol import where
from foldwise.gui.build.folding_table import short_name

VERDICTS = {"ok": "fits", "over_budget": "over budget", "over_capacity": "does not fit", "none": "–"}
VERDICT_COLOURS = {"fits": "#1e7e34", "over budget": "#b9770e", "does not fit": "#b03a2e"}
KEEPS_UP_COLOURS = {True: "#1e7e34", False: "#b03a2e"}


def si(value: float) -> str:
    """``1.25 M`` style (with a trailing space for the unit)."""
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g} "


def show_figures(cards: dict[str, Any], report: Any, gauge_state: str, verdict: Any = None) -> None:
    """Throughput, latency, bottleneck, the fit verdict (from the gauges' worst state) and whether it keeps up
    with the project's target (a :class:`~foldwise.core.finn.target.TargetVerdict`, or None) on the cards."""
    fps, lat = report.fps, report.latency_ns
    cards["fps"].set_figure({"value": f"{fps.value:,.0f}", "unit": "fps", "source": fps.source} if fps else None)
    cards["latency_us"].set_figure({"value": f"{lat.value / 1000:,.1f}", "unit": "µs", "source": lat.source}
                                   if lat else None)
    if report.bottleneck:
        cards["bottleneck"].set_figure({"value": short_name(report.bottleneck), "source": "estimated"})
        cards["bottleneck"].value.setToolTip(f"{report.bottleneck}: {report.max_cycles or 0:,} cycles per frame")
    else:
        cards["bottleneck"].set_figure(None)
    verdict_text = VERDICTS[gauge_state]
    source = next(iter(report.resources.values())).source if report.resources else ""
    cards["fit"].set_figure({"value": verdict_text, "source": source})
    colour = VERDICT_COLOURS.get(verdict_text, "#333333")
    cards["fit"].value.setText(f"<span style='font-size:15pt; color:{colour}'><b>{verdict_text}</b></span>")
    show_keeps_up(cards["keeps_up"], verdict)


def show_keeps_up(card: Any, verdict: Any) -> None:
    """``yes ×45`` in green or ``no ×0.18`` in red, labelled with the FPS figure's source."""
    if verdict is None:
        card.set_figure(None)
        card.value.setToolTip("Needs an estimate and the project's target frame rate")
        return
    word, colour = ("yes", KEEPS_UP_COLOURS[True]) if verdict.keeps_up else ("no", KEEPS_UP_COLOURS[False])
    card.set_figure({"value": word, "source": verdict.source})
    card.value.setText(f"<span style='font-size:15pt; color:{colour}'><b>{word}</b></span> "
                       f"<small>{verdict.margin_text}</small>")
    card.value.setToolTip(f"{verdict.fps:,.0f} fps ({verdict.source}) against the target {verdict.target:,.0f} "
                          f"fps: {verdict.text}")


def origin_text(report: Any, origin: str, board: str, clock_mhz: float) -> str:
    """Where the figures come from, for which board and clock, and when."""
    clock = 1000 / report.clock_ns if report.clock_ns else clock_mhz
    return (f"<small>{html.escape(origin)} · {report.board or board} @ {clock:g} MHz · "
            f"{time.strftime('%H:%M:%S')}</small>")


def _fps(side: dict[str, Any] | None) -> float | None:
    figure = (side or {}).get("fps")
    return figure.get("value") if isinstance(figure, dict) else None


def autofit_text(result: dict[str, Any], budget: float, budgets: dict[str, float] | None = None) -> str:
    """Auto-fit's FPS against FINN SetFolding's best within the same budget, and their ratio (from the
    result's ``to_dict()``, as saved with the iteration); ``budgets``: share per resource when they differ
    (``foldwise autofit --budget-dsp``), else ``budget`` of each."""
    fps, baseline = _fps(result.get("autofit")), _fps(result.get("setfolding"))
    source = ((result.get("autofit") or {}).get("fps") or {}).get("source", "estimated")
    text = f"<b>Auto-fit:</b> {si(fps)}fps <i>({source})</i>" if fps else "<b>Auto-fit</b>"
    if baseline:
        text += (f"<br>FINN SetFolding best: {si(baseline)}fps "
                 f"(target {result.get('setfolding_target_fps') or 0:,}) → <b>×{result.get('ratio') or 0:.2f}</b>")
    elif result.get("sweep"):
        text += "<br>FINN SetFolding found nothing within the budget"
    if result.get("search"):
        text += f"<br><small>folding: {html.escape(result['search']['note'])}</small>"
    shares = {k: float(v) for k, v in (budgets or {}).items() if isinstance(v, (int, float))}
    within = (", ".join(f"{v:.0%} of {k}" for k, v in shares.items()) if len(set(shares.values())) > 1
              else f"{budget:.0%} of LUT, BRAM, DSP and URAM")
    return text + f"<br><small>within {within}; loaded into the editor (Ctrl+Z undoes)</small>"


def bitfit_text(result: dict[str, Any], budget: float) -> str:
    """The bit-width search: which layers lost bits, FPS before and after, validation accuracy before and after
    (from the result's ``to_dict()``)."""
    start, final = result.get("start") or {}, result.get("final") or {}
    start_fps, final_fps = _fps(start) or 0, _fps(final) or 0
    lowered = [t for t in result.get("trials", []) if t.get("accepted")]
    if not lowered:
        return (f"<b>Bit widths:</b> no layer could lose a bit and gain ≥ 1 % FPS within "
                f"{result.get('max_loss_points', 0):g} pt of validation accuracy; {si(start_fps)}fps "
                "<i>(estimated)</i>")
    steps = ", ".join(f"{html.escape(str(t['layer']))} {t.get('kind', 'W')}{t['bits']}" for t in lowered)
    acc = [100 * ((side.get("accuracy") or {}).get("value") or 0) for side in (start, final)]
    # Candidates are chosen on the validation split (the select protocol), so these are not the test accuracy
    # the iteration cards report: said in so many words.
    on = where(start.get("accuracy")) or "val"
    return (f"<b>Bit widths:</b> {steps}<br>{si(start_fps)}fps → <b>{si(final_fps)}fps</b> "
            f"(×{result.get('gain') or 0:.2f}, estimated) · accuracy {acc[0]:.1f} → {acc[1]:.1f} % "
            f"<i>(measured, post-training, {on}: the split the search chooses on, not the test split)</i><br>"
            f"<small>within {budget:.0%} of each resource; QAT may win back accuracy{_searched(result)}</small>")


def _searched(result: dict[str, Any]) -> str:
    """How long the search took and whether FINN's re-estimate of the chosen design agreed (results saved
    before either was recorded say nothing)."""
    parts = []
    if result.get("seconds"):
        parts.append(f"searched in {result['seconds']:.0f} s ({html.escape(str(result.get('method') or ''))})")
    confirmed = result.get("confirmed") or {}
    if confirmed.get("fps_finn") is not None and "resources_finn" in confirmed:
        parts.append("FINN's re-estimate of the chosen design agrees" if confirmed.get("equal") else
                     "FINN's re-estimate of the chosen design differed: its own auto-fit is shown")
    return "".join(f" · {p}" for p in parts)
