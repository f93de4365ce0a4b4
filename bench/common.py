"""What every benchmark module returns: named figures with their targets."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure; `target` is e.g. ('<=', 10.0) or None when informative only."""

    name: str
    value: float
    unit: str
    target: tuple[str, float] | None = None
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        """Whether the figure meets its target; None without a target."""
        if self.target is None:
            return None
        op, bound = self.target
        return _OPS[op](self.value, bound)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form, with the verdict."""
        data = asdict(self)
        data["target"] = None if self.target is None else f"{self.target[0]} {self.target[1]:g}"
        data["passed"] = self.passed
        return data


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values, q in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of an empty list")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
