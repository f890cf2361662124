"""Analysis layer (explain, numpy + pandas): one DataFrame per diagnostic from the measurements.

Each table has one row per quantity with ``mean``, ``lo``, ``hi`` (95% bootstrap interval over
texts) and ``n`` (texts), plus the setting columns ``model``, ``T``, ``bos_added``; per-layer
tables also have ``layer``. "Sink heads" are the (text, head) pairs with ``alpha[l,h,0] > eps``;
a text without any contributes no value to a sink-head median (and ``n`` says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .stats import Interval, bootstrap


def _row(quantity: str, iv: Interval, **extra: Any) -> dict[str, Any]:
    return {"quantity": quantity, "mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n, **extra}


def sink_median(x: np.ndarray, sink: np.ndarray) -> np.ndarray:
    """Per text: median of ``x[text, l, h]`` over its sink heads (NaN when it has none)."""
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        if sink[i].any():
            out[i] = np.median(x[i][sink[i]])
    return out


def cross_text_cosine(u_dir: np.ndarray) -> np.ndarray:
    """Per text and layer: cosine of its direction with the mean direction of the others.

    ``u_dir`` ``[n, L, hidden]`` -> ``[n, L]`` (NaN with a single text).
    """
    n = len(u_dir)
    if n < 2:
        return np.full(u_dir.shape[:2], np.nan)
    others = (u_dir.sum(0, keepdims=True) - u_dir) / (n - 1)
    num = (u_dir * others).sum(-1)
    den = np.linalg.norm(u_dir, axis=-1) * np.linalg.norm(others, axis=-1)
    return num / np.maximum(den, 1e-30)


class Tables:
    """Builds every diagnostic table of one :class:`~.collect.Measurements`."""

    def __init__(self, m: Any, eps: float) -> None:
        self.m, self.eps = m, eps
        self.x = m.per_text
        self.sink = self.x["alpha0"] > eps  # [n, L, H]
        self.setting = {"model": m.model, "T": m.T, "bos_added": m.bos_added}

    def frame(self, rows: list[dict[str, Any]], name: str) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        for key, value in self.setting.items():
            df[key] = value
        df.attrs["diagnostic"] = name
        df.attrs["eps"] = self.eps
        return df

    def iv(self, key: str, reduce: str = "mean") -> Interval:
        """Bootstrap of a per-text array, reduced over its non-text axes."""
        v = self.x[key]
        return bootstrap(v.reshape(len(v), -1).mean(-1) if reduce == "mean" else v)

    def sink_iv(self, key: str, n_texts: int | None = None) -> Interval:
        k = n_texts or len(self.x[key])
        return bootstrap(sink_median(self.x[key][:k], self.sink[:k]))

    def d2(self) -> pd.DataFrame:
        a = self.x["alpha0"]
        rows = [
            _row(f"sink rate at eps={e}", bootstrap((a > e).mean((1, 2))), eps=e)
            for e in sorted({0.3, 0.8, self.eps})
        ]
        return self.frame(rows, "D2 sink rate: share of heads with alpha[l,h,0] > eps")

    def d1_layers(self) -> pd.DataFrame:
        rows = []
        for l in range(self.m.n_layers):
            rows.append(
                _row("alpha[l,:,0] head mean", bootstrap(self.x["alpha0"][:, l].mean(-1)), layer=l)
            )
            rows.append(_row("share of sink heads", bootstrap(self.sink[:, l].mean(-1)), layer=l))
            if not self.m.causal:
                last = self.x["alpha_last"][:, l].mean(-1)
                rows.append(_row("alpha[l,:,T-1] head mean (last token)", bootstrap(last), layer=l))
        return self.frame(rows, "D1 sink score of position 0 per layer")

    def d3(self) -> pd.DataFrame:
        logratio = np.log(self.x["d3_ratio0"]) - np.log(self.x["d3_ratio_ctrl"])
        self.x["d3_logratio"] = logratio
        rows = [
            _row("raw share of key 0 (q>=1), sink heads", self.sink_iv("raw1")),
            _row("norm-weighted share of key 0 (q>=1), sink heads", self.sink_iv("norm1")),
            _row("norm/raw ratio of key 0, sink heads", self.sink_iv("d3_ratio0")),
            _row("norm/raw ratio of content keys 1..T/2 (control)", self.sink_iv("d3_ratio_ctrl")),
            _row("log(ratio key 0 / ratio content keys), sink heads", self.sink_iv("d3_logratio")),
        ]
        return self.frame(
            rows, "D3 norm-weighted attention (Kobayashi 2020) with a content control"
        )

    def d4(self) -> pd.DataFrame:
        self.x["cos_gap"] = self.x["cos0"] - self.x["cos_other"]
        rows = [
            _row("value drain ||v_0|| / mean ||v_k||, sink heads", self.sink_iv("vdrain")),
            _row("key drain ||k_0|| / mean ||k_k||, sink heads", self.sink_iv("kdrain")),
            _row("cos(q_t, k_0), sink heads", self.sink_iv("cos0")),
            _row("cos(q_t, k_j), j>=1 (control), sink heads", self.sink_iv("cos_other")),
            _row("cos(q_t, k_0) - cos(q_t, k_j), sink heads", self.sink_iv("cos_gap")),
            _row(
                "logit margin of key 0 over the best other key, sink heads", self.sink_iv("margin")
            ),
        ]
        return self.frame(
            rows, "D4 value/key drain and query-key geometry (q, k after RoPE/QK-norm)"
        )

    def d5(self) -> pd.DataFrame:
        rows = []
        for l in range(self.m.n_layers + 1):
            where = "embedding" if l == 0 else f"block {l - 1} output"
            rows.append(
                _row(
                    "||h_0|| / median ||h_k||",
                    bootstrap(self.x["residual_peak0"][:, l]),
                    layer=l,
                    where=where,
                )
            )
            rows.append(
                _row(
                    "massive activation in h_0 (share of texts)",
                    bootstrap(self.x["massive0"][:, l]),
                    layer=l,
                    where=where,
                )
            )
        df = self.frame(rows, "D5 residual peak and massive activations of position 0")
        df.attrs["note"] = "the last row is the last block's output before the final norm"
        return df

    def d6(self) -> pd.DataFrame:
        ch = self.x["d6_change"]  # [n, 2, L + 1]
        rows = [
            _row(
                "max over layers ||Δh_0||/||h_0||, rest of text swapped",
                bootstrap(ch[:, 0].max(-1)),
            ),
            _row("last layer ||Δh_0||/||h_0||", bootstrap(ch[:, 0, -1])),
            _row(
                f"last layer ||Δh_p||/||h_p||, content position p={self.m.p_ctrl} (control)",
                bootstrap(ch[:, 1, -1]),
            ),
            _row("last layer: position 0 minus control", bootstrap(ch[:, 0, -1] - ch[:, 1, -1])),
        ]
        return self.frame(rows, "D6 does position 0's state depend on the rest of the text?")

    def d7(self) -> pd.DataFrame:
        u = np.concatenate(self.m.extra["u_dir"])  # [n, L, 2, hidden]
        cos0 = cross_text_cosine(u[:, :, 0]).mean(-1)
        cosc = cross_text_cosine(u[:, :, 1]).mean(-1)
        self.x["d7_cos0"], self.x["d7_cos_ctrl"] = cos0, cosc
        share = self.x["u_share"]  # [n, L, 2]
        rows = [
            _row("cosine across texts of what position 0 hands out", bootstrap(cos0)),
            _row(f"same for content position {self.m.p_ctrl} (control)", bootstrap(cosc)),
            _row("position 0 minus control", bootstrap(cos0 - cosc)),
            _row("||u_t|| / ||attention output_t||, position 0", bootstrap(share[..., 0].mean(-1))),
            _row(
                f"same for content position {self.m.p_ctrl} (control)",
                bootstrap(share[..., 1].mean(-1)),
            ),
            _row(
                "position 0 minus control (size)",
                bootstrap(share[..., 0].mean(-1) - share[..., 1].mean(-1)),
            ),
        ]
        return self.frame(rows, "D7 what position 0 hands out: direction across texts and size")

    def d8(self) -> pd.DataFrame:
        if not self.m.lm:
            return self.frame([], "D8 ablations (needs a next-token loss: not run)")
        rows = []
        for kind in ("mask", "remove_zero", "remove_mean", "zero_value"):
            for where in ("first", "random", "median"):
                for what in ("dloss", "kl"):
                    v = self.x[f"d8_{kind}_{where}_{what}"]
                    rows.append(_row(what, bootstrap(v), edit=kind, position=where))
            for ctrl in ("random", "median"):
                diff = self.x[f"d8_{kind}_first_dloss"] - self.x[f"d8_{kind}_{ctrl}_dloss"]
                rows.append(
                    _row(f"dloss first minus {ctrl}", bootstrap(diff), edit=kind, position="first")
                )
        df = self.frame(rows, "D8 ablations with controls: change of next-token loss (nats) and KL")
        df.attrs["note"] = (
            "mask: key p hidden from the other queries; remove_zero/remove_mean: attention kept, "
            "what key p hands out replaced by zero / by the mean value of the other keys (p's own "
            "stream and keys intact); zero_value: v_p = 0 for every query including p (changes "
            "p's later keys). Loss on targets T/2+1..T-1; random and median positions in [1, T/2)."
        )
        return df

    def d9(self) -> pd.DataFrame:
        x = self.x
        rows = [
            _row(
                "alpha[:, :, 0] original (layer and head mean)", bootstrap(x["d9_alpha0_original"])
            )
        ]
        rows.append(
            _row(
                "alpha[:, :, 1] original (the token after position 0)",
                bootstrap(x["d9_alpha1_original"]),
            )
        )
        for name in ("drop_first", "newline_first"):
            if f"d9_{name}_alpha0" in x:
                rows.append(
                    _row(f"alpha at new position 0 after {name}", bootstrap(x[f"d9_{name}_alpha0"]))
                )
        if "d9_drop_first_loss" in x:
            k = len(x["d9_drop_first_loss"])
            d = x["d9_drop_first_loss"] - x["loss_base"][:k]
            rows.append(_row("dloss when the first token is dropped (same targets)", bootstrap(d)))
        return self.frame(rows, "D9 relocation: does the sink follow position 0?")

    def d10(self) -> pd.DataFrame:
        onset = self.m.extra.get("d10")
        if onset is None:
            return self.frame([], "D10 massive activations -> sink (none in h_0: not run)")
        x, layer = self.x, onset["layer"]
        k = len(x["d10_zero_alpha0"])
        rows = [
            _row("alpha[l>=onset, :, 0], unedited", bootstrap(x["alpha0"][:k, layer:].mean((1, 2))))
        ]
        for mode in ("zero", "mean"):
            rows.append(
                _row(
                    f"alpha[l>=onset, :, 0], massive dims set to {mode}",
                    bootstrap(x[f"d10_{mode}_alpha0"]),
                )
            )
            if f"d10_{mode}_loss" in x:
                d = x[f"d10_{mode}_loss"] - x["loss_base"][:k]
                rows.append(_row(f"dloss, massive dims set to {mode}", bootstrap(d)))
        df = self.frame(rows, "D10 massive activations -> sink")
        df["onset_layer"] = layer
        df["dims"] = str(onset["dims"])
        return df

    def d11(self) -> pd.DataFrame:
        r = self.m.extra["d11"]
        rows = [
            _row(
                f"sink rate at eps={self.eps}, one token repeated T times",
                bootstrap((r["alpha0_heads"] > self.eps).mean((1, 2))),
            ),
            _row(
                f"sink rate at eps={self.eps}, natural texts",
                bootstrap((self.x["alpha0"] > self.eps).mean((1, 2))),
            ),
            _row("alpha[:, :, 0], repeated token", bootstrap(r["alpha0"])),
            _row("alpha at positions 1..T/2, repeated token", bootstrap(r["alpha_rest"])),
        ]
        df = self.frame(
            rows, "D11 repeated tokens (no special tokens): is there a first-position sink?"
        )
        df.attrs["note"] = "n counts distinct repeated tokens, not texts"
        return df

    def d12(self) -> pd.DataFrame:
        a, b = self.x["d12_intact"], self.x["d12_masked"]  # [n, L + 1]
        rows = []
        for l in range(a.shape[1]):
            rows.append(_row("spread, sink intact", bootstrap(a[:, l]), layer=l))
            rows.append(_row("spread, key 0 masked", bootstrap(b[:, l]), layer=l))
        rows.append(
            _row(
                "last layer: masked minus intact",
                bootstrap(b[:, -1] - a[:, -1]),
                layer=a.shape[1] - 1,
            )
        )
        df = self.frame(
            rows, "D12 over-mixing: ||Δh_t||/||h_t|| of later tokens after perturbing one embedding"
        )
        df.attrs["note"] = (
            f"perturbed position {self.m.p_ctrl}, noise norm 0.1 x its embedding norm"
        )
        return df

    def all(self) -> dict[str, pd.DataFrame]:
        """Every table, keyed ``"D1"``..``"D12"`` (D3/D4/D7 before the verdicts read them)."""
        return {
            "D1": self.d1_layers(),
            "D2": self.d2(),
            "D3": self.d3(),
            "D4": self.d4(),
            "D5": self.d5(),
            "D6": self.d6(),
            "D7": self.d7(),
            "D8": self.d8(),
            "D9": self.d9(),
            "D10": self.d10(),
            "D11": self.d11(),
            "D12": self.d12(),
        }
