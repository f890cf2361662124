"""Widget layer: trait types that own their constraints and refuse in sentences.

``Choice`` is a ``traitlets.Enum`` (with an optional normalising step, e.g. "A->B" for
"A→B") and ``Fraction`` a ``traitlets.Float(min=..., max=...)`` that also refuses NaN. Their
refusals read "view must be one of ['arcs', 'matrix'], got 'pie'." rather than traitlets'
generic text. A refused value raises ``traitlets.TraitError`` and leaves the old value in
place. Rules that depend on the run (a layer's range, which weightings it holds) are the
widget's ``@traitlets.validate`` methods, which call :mod:`bos_widget.transport.checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import traitlets


class Choice(traitlets.Enum):
    """One of ``values``; ``normalise`` (optional) maps a value before it is checked."""

    def __init__(
        self,
        values: Sequence[str],
        default_value: str,
        normalise: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.normalise = normalise
        super().__init__(tuple(values), default_value, **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        if self.normalise is not None:
            value = self.normalise(value)
        if self.values and value in self.values:
            return value
        raise traitlets.TraitError(
            f"{self.name} must be one of {list(self.values or ())}, got {value!r}."
        )


class Fraction(traitlets.Float):
    """A finite float in ``[min, max]`` (the ends included)."""

    def __init__(self, default_value: float, min: float, max: float, **kwargs: Any) -> None:
        super().__init__(default_value, min=min, max=max, **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        if isinstance(value, (int, float)) and not self.min <= value <= self.max:  # NaN too
            raise traitlets.TraitError(
                f"{self.name} must lie in [{self.min:g}, {self.max:g}], got {value}."
            )
        return super().validate(obj, value)
