"""How much of the traffic the trace summaries cover, so that a list of them is read for what it is.

With Transaction Search on, every span goes to CloudWatch Logs but only the traces the indexing rules pick
become trace summaries (GetIndexingRules: a probabilistic rule, `Default`, 1 % unless it was changed). A list
of summaries is then a sample: `Coverage.note()` says so, with the percentage, for the user to read beside it.
With Transaction Search off, every trace has a summary and there is nothing to say.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Coverage:
    """The indexing rules as GetIndexingRules gives them: (name, percentage of traces indexed)."""

    rules: tuple[tuple[str, float | None], ...]

    def note(self) -> str:
        known = [(name, percentage) for name, percentage in self.rules if percentage is not None]
        sample = (
            "so this list is a sample of the traffic, not all of it; show-trace still reads any trace by id."
        )
        if not known:
            return (
                "Transaction Search is on: only the traces its indexing rules pick become trace summaries, "
                + sample
            )
        names = ", ".join(name for name, _ in known)
        if all(percentage == 0 for _, percentage in known):
            return (
                f"Transaction Search is on and indexing is at 0% (indexing rule {names}): no trace recorded "
                "while it is so becomes a trace summary or appears in this list; show-trace still reads any "
                "trace by id."
            )
        if len(known) == 1:
            return (
                f"Transaction Search is on: only about {_percent(known[0][1])} of traces become trace "
                f"summaries (indexing rule {names}), {sample}"
            )
        shares = ", ".join(f"{name} {_percent(percentage)}" for name, percentage in known)
        return (
            f"Transaction Search is on: only the traces its indexing rules pick ({shares}) become trace "
            f"summaries, {sample}"
        )


def _percent(value: float) -> str:
    return f"{value:.3g}%"


def _percentage(rule: Any) -> float | None:
    """A rule's applied percentage (ActualSamplingPercentage), else the one asked for; None if neither."""
    probabilistic = rule.get("Rule", {}).get("Probabilistic") if isinstance(rule, dict) else None
    if not isinstance(probabilistic, dict):
        return None
    for field in ("ActualSamplingPercentage", "DesiredSamplingPercentage"):
        value = probabilistic.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def summary_coverage(client: Any, transaction_search_active: Callable[[], bool]) -> Coverage | None:
    """The coverage when Transaction Search is on, else None; None too when it cannot be asked (a missing
    permission must not spoil the list it comments on: --debug shows why)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if not transaction_search_active():
            return None
        rules: list[tuple[str, float | None]] = []
        kwargs: dict[str, Any] = {}
        tokens: set[str] = set()
        while True:  # botocore has no paginator for it
            answer = client.get_indexing_rules(**kwargs)
            rules += [(str(rule.get("Name")), _percentage(rule)) for rule in answer.get("IndexingRules", [])]
            token = answer.get("NextToken")
            if not token or token in tokens:
                break
            tokens.add(token)
            kwargs["NextToken"] = token
    except (ClientError, BotoCoreError) as exc:
        logger.debug("GetIndexingRules failed: %s", exc)
        return None
    return Coverage(tuple(rules))
