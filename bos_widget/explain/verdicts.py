"""Analysis layer (explain, numpy + pandas): verdict rules for the four popular claims.

Every rule is a set of predictions, each judged on a 95% bootstrap interval over texts
(:meth:`~.stats.Interval.outcome`): "for" when the interval lies wholly on the claim's side
of a threshold fixed here in advance, "against" when it lies wholly on the other side,
"undecided" when it straddles it. :func:`~.stats.combine` turns the outcomes into supported /
partly supported / contradicted / undecided; "not applicable" is used where a claim is about
something the model does not have. Each row keeps the numbers it rests on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .stats import Interval, bootstrap, combine

#: Thresholds, fixed before looking at any model (each with its reason).
THRESHOLDS = {
    # A state that "does not depend on the text" changes by float noise only: two float32
    # passes reproduce a shared prefix to ~1e-6 relative, so 1e-4 leaves two orders of margin.
    "d6_zero": 1e-4,
    # A change of next-token loss above 0.1 nats (~10% perplexity) "hurts"; below it an edit
    # "barely matters" (D8).
    "harm_nats": 0.1,
    # A head has a fixed role when it is a sink head on >= 90% of texts (or on <= 10%).
    "stable": 0.9,
    # A kind of head "exists" when it makes up at least 5% of the heads.
    "mix_min": 0.05,
    # Roles are "fixed" when fewer than 20% of heads switch between sinking and not.
    "switch_max": 0.2,
}

CLAIMS = {
    "C1 gathers": "position 0 gathers the text's meaning",
    "C1 hands out": "position 0 hands sentence-specific information out to the other tokens",
    "C2": "heads divide the work: fixed sink heads beside fixed non-sink heads",
    "C3": "position 0 is a parking spot: attention with nowhere to go, handing out little",
    "C4": "tokens attend to [CLS] because the model classifies from it",
}


def _v(claim: str, verdict: str, evidence: str, numbers: dict[str, Interval]) -> dict[str, Any]:
    n = max((iv.n for iv in numbers.values()), default=0)
    return {
        "claim": claim,
        "verdict": verdict,
        "evidence": evidence,
        "n": n,
        "numbers": {k: str(v) for k, v in numbers.items()},
    }


def _say(numbers: dict[str, Interval], outcomes: dict[str, str]) -> str:
    return "; ".join(f"{k} {numbers[k]} -> {outcomes[k]}" for k in outcomes) + "."


def c1_gathers(m: Any, x: dict[str, np.ndarray]) -> dict[str, Any]:
    ch = x["d6_change"]  # [n, 2, L + 1]
    if m.causal:
        nums = {"max over layers ||Δh_0||/||h_0|| (D6)": bootstrap(ch[:, 0].max(-1))}
        key = next(iter(nums))
        out = {key: nums[key].outcome(THRESHOLDS["d6_zero"])}
        note = (
            " A causal decoder's position 0 attends only to itself, so this is 0 by "
            "construction; the measurement checks it."
        )
        return _v("C1 gathers", combine(list(out.values())), _say(nums, out) + note, nums)
    ent = x["entropy_row0"][:, -1].mean(-1) - x["entropy_rows"][:, -1].mean(-1)
    nums = {
        "last layer ||Δh_0||/||h_0|| minus a content token's (D6)": bootstrap(
            ch[:, 0, -1] - ch[:, 1, -1]
        ),
        "last layer row entropy of position 0 minus content rows": bootstrap(ent),
    }
    out = {k: iv.outcome(0.0) for k, iv in nums.items()}
    note = (
        " (Every token of a bidirectional model gathers; the test is whether position 0 does more.)"
    )
    return _v("C1 gathers", combine(list(out.values())), _say(nums, out) + note, nums)


def c1_hands_out(m: Any, x: dict[str, np.ndarray]) -> dict[str, Any]:
    u_share = x["u_share"]
    nums = {
        "D7 cross-text cosine, position 0 minus content control": bootstrap(
            x["d7_cos0"] - x["d7_cos_ctrl"]
        ),
        "D7 ||u_t||/||output_t||, position 0 minus content control": bootstrap(
            u_share[..., 0].mean(-1) - u_share[..., 1].mean(-1)
        ),
    }
    k_dir, k_size = list(nums)
    out = {k_dir: nums[k_dir].outcome(0.0, above=False), k_size: nums[k_size].outcome(0.0)}
    if out[k_dir] == "against":
        verdict = "contradicted"
    elif out[k_dir] == "for":
        verdict = {"for": "supported", "against": "partly supported"}.get(out[k_size], "undecided")
    else:
        verdict = "undecided"
    note = (
        " A hub's message is sentence-specific (less alike across texts than an ordinary "
        "token's) and sizeable; a message more alike than an ordinary token's contradicts it."
    )
    return _v("C1 hands out", verdict, _say(nums, out) + note, nums)


def c2(m: Any, x: dict[str, np.ndarray], eps: float) -> dict[str, Any]:
    s = (x["alpha0"] > eps).reshape(len(x["alpha0"]), -1).astype(np.float64)  # [n, L*H]
    hi, lo = THRESHOLDS["stable"], 1 - THRESHOLDS["stable"]
    nums = {
        "share of heads sinking on >=90% of texts": bootstrap(
            s, lambda a: (a.mean(0) >= hi).mean()
        ),
        "share of heads sinking on <=10% of texts": bootstrap(
            s, lambda a: (a.mean(0) <= lo).mean()
        ),
        "share of heads that switch": bootstrap(
            s, lambda a: ((a.mean(0) > lo) & (a.mean(0) < hi)).mean()
        ),
    }
    k_sink, k_non, k_switch = list(nums)
    out = {
        k_sink: nums[k_sink].outcome(THRESHOLDS["mix_min"]),
        k_non: nums[k_non].outcome(THRESHOLDS["mix_min"]),
        k_switch: nums[k_switch].outcome(THRESHOLDS["switch_max"], above=False),
    }
    if "against" in (out[k_sink], out[k_non]):
        verdict = "contradicted"
    elif out[k_sink] == out[k_non] == "for":
        verdict = {"for": "supported", "against": "partly supported"}.get(
            out[k_switch], "undecided"
        )
    else:
        verdict = "undecided"
    note = (
        f" eps={eps}. Fixed roles predict both kinds (each >= {THRESHOLDS['mix_min']}) and few "
        f"switching heads (< {THRESHOLDS['switch_max']}); many switching heads is Guo et al.'s "
        "active-dormant behaviour (partly supported)."
    )
    return _v("C2", verdict, _say(nums, out) + note, nums)


def c3(m: Any, x: dict[str, np.ndarray], tables: Any) -> dict[str, Any]:
    if not tables.sink.any():
        text = "no head has alpha[l,h,0] > eps on any text: there is no sink to explain."
        return _v("C3", "not applicable", text, {})
    nums = {
        "D3 log(norm/raw of key 0 / norm/raw of content keys), sink heads": tables.sink_iv(
            "d3_logratio"
        ),
        "D4 cos(q,k_0) - cos(q,k_j), sink heads": tables.sink_iv("cos_gap"),
    }
    k3, k4 = list(nums)
    out = {k3: nums[k3].outcome(0.0, above=False), k4: nums[k4].outcome(0.0)}
    if m.lm:
        mask = x["d8_mask_first_dloss"] - x["d8_mask_median_dloss"]
        k8a = "D8 dloss masking key 0 minus masking the median position"
        k8b = "D8 dloss removing what key 0 hands out (attention kept)"
        nums[k8a], nums[k8b] = bootstrap(mask), bootstrap(x["d8_remove_zero_first_dloss"])
        out[k8a] = nums[k8a].outcome(0.0)
        out[k8b] = nums[k8b].outcome(THRESHOLDS["harm_nats"], above=False)
    note = (
        " Parking predicts: key 0 contributes less than its attention share (D3, against "
        "content keys), queries align with k_0 (D4 key bias), hiding key 0 hurts more than "
        f"hiding an ordinary key, and removing what it hands out costs < {THRESHOLDS['harm_nats']} "
        "nats." + ("" if m.lm else " D8 needs a next-token loss: not run on this model.")
    )
    return _v("C3", combine(list(out.values())), _say(nums, out) + note, nums)


def c4(m: Any, x: dict[str, np.ndarray], eps: float, pooling: str | None) -> dict[str, Any]:
    rate = bootstrap((x["alpha0"] > eps).mean((1, 2)))
    if m.causal:
        text = (
            f"no [CLS]: a decoder{' with a BOS' if m.bos_added else ' without any BOS'}; sink "
            f"rate at eps={eps} {rate}. A model that sinks without a classification token shows "
            "C4 is not needed for a sink; it says nothing about BERT's [CLS]."
        )
        return _v("C4", "not applicable", text, {"sink rate": rate})
    ent = x["entropy_row0"][:, -1].mean(-1) - x["entropy_rows"][:, -1].mean(-1)
    k_row = "last layer: entropy of the [CLS] row minus content rows"
    nums = {k_row: bootstrap(ent), f"sink rate on position 0 at eps={eps}": rate}
    out = {k_row: nums[k_row].outcome(0.0)}
    if pooling == "mean":
        k_col = f"sink rate on position 0 at eps={eps}"
        out[k_col] = rate.outcome(THRESHOLDS["mix_min"], above=False)
        note = (
            " The model was trained with mean pooling, not to classify from [CLS]: C4 predicts "
            "a broad [CLS] row in the last layer and no sink on [CLS] in such a model."
        )
        return _v("C4", combine(list(out.values())), _say(nums, out) + note, nums)
    if pooling == "cls":
        note = " The model was trained to classify from [CLS]: only the row test can decide."
        return _v("C4", combine(list(out.values())), _say(nums, out) + note, nums)
    note = (
        " How the model was trained to pool is unknown (pass pooling='mean' or 'cls'), so "
        "whether [CLS] training causes the sink cannot be tested here."
    )
    return _v("C4", "undecided", _say(nums, out) + note, nums)


def verdicts(m: Any, tables: Any, eps: float, pooling: str | None) -> pd.DataFrame:
    """One row per claim or half-claim (``claim`` starts "C1".."C4")."""
    x = tables.x
    rows = [
        c1_gathers(m, x),
        c1_hands_out(m, x),
        c2(m, x, eps),
        c3(m, x, tables),
        c4(m, x, eps, pooling),
    ]
    df = pd.DataFrame(rows)
    df.insert(1, "statement", [CLAIMS[c] for c in df["claim"]])
    df["model"], df["T"], df["bos_added"] = m.model, m.T, m.bos_added
    return df
