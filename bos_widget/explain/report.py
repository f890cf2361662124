"""Analysis layer (explain): the report object ``explain()`` returns, and its displays.

``ExplainReport.verdicts`` has one row per claim or half-claim; ``.diagnostics["D1"]`` ..
``["D12"]`` one DataFrame per diagnostic (``mean``, ``lo``, ``hi``, ``n``); ``.per_text``
the per-text values the intervals were bootstrapped from. In a notebook the report shows
the verdict table and two small inline SVG plots (no plotting library needed); ``str()`` gives
the same summary as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class ExplainReport:
    """What :func:`bos_widget.explain` measured on one model.

    Attributes
    ----------
    verdicts : pandas.DataFrame
        One row per claim or half-claim: ``claim`` ("C1 gathers", "C1 hands out", "C2", "C3",
        "C4"), ``statement``, ``verdict`` (supported / partly supported / contradicted /
        undecided / not applicable), ``evidence`` (the numbers with their 95% intervals and
        what each prediction came to), ``n`` (texts), ``numbers``, ``model``, ``T``,
        ``bos_added``.
    diagnostics : dict of str to pandas.DataFrame
        ``"D1"`` .. ``"D12"``: one row per quantity with ``mean``, ``lo``, ``hi``, ``n``
        (``attrs["diagnostic"]`` says what it measures, ``attrs["note"]`` how).
    per_text : pandas.DataFrame
        One row per text: its first token and every per-text scalar (sink rate, D8 loss
        changes, ...); NaN where a text was not in the edited passes.
    setting : dict
        Model, T, eps, n texts, n edited, BOS added, thresholds, seconds taken.
    """

    verdicts: pd.DataFrame
    diagnostics: dict[str, pd.DataFrame]
    per_text: pd.DataFrame
    setting: dict[str, Any] = field(default_factory=dict)

    def header(self) -> str:
        s = self.setting
        bos = f"{s['first_token']!r} added at position 0" if s["bos_added"] else "no BOS added"
        return (
            f"{s['model']}: {s['n_layers']} layers x {s['n_heads']} heads, "
            f"{'causal' if s['causal'] else 'bidirectional'}, {bos}; T={s['T']}, "
            f"n={s['n_texts']} texts ({s['n_edit']} for the edited passes), eps={s['eps']}, "
            f"95% bootstrap intervals over texts; {s['seconds']:.0f} s"
        )

    def __str__(self) -> str:
        lines = [self.header()]
        for row in self.verdicts.to_dict("records"):
            lines.append(f"{row['claim']:<13} {row['verdict'].upper():<17} {row['evidence']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.verdicts[["claim", "statement", "verdict", "evidence", "n"]]
        d1 = self.diagnostics["D1"]
        a = d1[d1["quantity"] == "alpha[l,:,0] head mean"]
        plots = [
            _band_svg(a["layer"], a["mean"], a["lo"], a["hi"], "D1 alpha[l,:,0] per layer"),
        ]
        d12 = self.diagnostics["D12"]
        for label in ("spread, sink intact", "spread, key 0 masked"):
            part = d12[d12["quantity"] == label]
            plots.append(
                _band_svg(part["layer"], part["mean"], part["lo"], part["hi"], f"D12 {label}")
            )
        return (
            f"<div><p>{escape(self.header())}</p>"
            + table.to_html(index=False, escape=True).replace(
                "<th>", "<th style='text-align:left'>"
            )
            + f"<div style='display:flex;gap:12px;flex-wrap:wrap'>{''.join(plots)}</div></div>"
        )


def _band_svg(x: Any, mean: Any, lo: Any, hi: Any, title: str) -> str:
    """A line with its interval band, as an inline SVG string (numbers only, escaped title)."""
    x, mean, lo, hi = (np.asarray(v, dtype=float) for v in (x, mean, lo, hi))
    w, h, pad = 260, 140, 28
    if len(x) == 0:
        return ""
    top = max(float(np.nanmax(hi)), 1e-12)
    bottom = min(0.0, float(np.nanmin(lo)))
    span_x = max(float(x.max() - x.min()), 1.0)

    def px(v: np.ndarray) -> np.ndarray:
        return pad + (v - x.min()) / span_x * (w - 2 * pad)

    def py(v: np.ndarray) -> np.ndarray:
        return h - pad - (v - bottom) / (top - bottom or 1.0) * (h - 2 * pad)

    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x), py(mean), strict=True))
    band = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x), py(hi), strict=True))
    band += " " + " ".join(
        f"{a:.1f},{b:.1f}" for a, b in zip(px(x)[::-1], py(lo)[::-1], strict=True)
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-size='10' "
        f"role='img' aria-label='{escape(title, quote=True)}'>"
        f"<text x='{pad}' y='12'>{escape(title)}</text>"
        f"<polygon points='{band}' fill='#f5a623' opacity='0.3'/>"
        f"<polyline points='{line}' fill='none' stroke='#d2691e' stroke-width='1.5'/>"
        f"<text x='2' y='{py(np.array([top]))[0]:.0f}'>{top:.2g}</text>"
        f"<text x='2' y='{h - pad}'>{bottom:.2g}</text>"
        f"<text x='{pad}' y='{h - 8}'>layer {int(x.min())}..{int(x.max())}</text></svg>"
    )
