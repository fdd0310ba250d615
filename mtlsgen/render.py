"""Plans and results as rich renderables and JSON documents. Never prints, never exits."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from .apply import ApplyResult
from .plan import Action, Plan

STYLES = {Action.CREATE: "green", Action.REISSUE: "yellow", Action.RENEW: "yellow",
          Action.REPLACE: "magenta", Action.REPACK: "cyan", Action.REVOKE: "red", Action.PRUNE: "red",
          Action.ORPHAN: "dim", Action.UNCHANGED: "dim", Action.BLOCKED: "bold red"}
_SUMMARY_ORDER = (Action.CREATE, Action.REISSUE, Action.RENEW, Action.REPLACE, Action.REPACK,
                  Action.REVOKE, Action.PRUNE, Action.BLOCKED)
_VERBS = {Action.CREATE: "to create", Action.REISSUE: "to reissue", Action.RENEW: "to renew",
          Action.REPLACE: "to replace", Action.REPACK: "to repack", Action.REVOKE: "to revoke",
          Action.PRUNE: "to prune", Action.BLOCKED: "blocked"}


def plan_text(plan: Plan, *, show_unchanged: bool = False) -> Text:
    """One line per entry that changes: symbol, name, action, reasons; then warnings and a summary."""
    shown = [c for c in plan.changes if show_unchanged or c.action is not Action.UNCHANGED]
    width = max((len(c.name) for c in shown), default=0)
    out = Text()
    for change in shown:
        style = STYLES[change.action]
        out.append(f"  {change.symbol} {change.name.ljust(width)}  ", style=style)
        out.append(f"{change.action.value:<9} ", style=style)
        out.append("; ".join(change.reasons))
        out.append("\n")
    for warning in plan.warnings:
        out.append(f"warning: {warning}\n", style="yellow")
    out.append(summary(plan))
    return out


def summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{counts[a]} {_VERBS[a]}" for a in _SUMMARY_ORDER if counts[a]]
    unchanged = counts[Action.UNCHANGED]
    orphans = f" {counts[Action.ORPHAN]} orphaned." if counts[Action.ORPHAN] else ""
    if not parts:
        return f"No changes: {unchanged} up to date.{orphans}"
    return f"Plan: {', '.join(parts)}. {unchanged} unchanged.{orphans}"


def plan_json(plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    return {
        "spec": str(plan.spec.path),
        "output": str(plan.spec.output),
        "now": plan.now.isoformat(),
        "changes": [{"name": c.name, "action": c.action.value, "symbol": c.symbol,
                     "reasons": list(c.reasons), "files": list(c.files)} for c in plan.changes],
        "summary": {a.value: counts[a] for a in Action},
        "pending": len(plan.pending),
        "warnings": list(plan.warnings),
    }


def result_text(result: ApplyResult) -> str:
    if not result.changes:
        return "Nothing to do: every file is up to date."
    return (f"Applied {len(result.changes)} change{'s' if len(result.changes) != 1 else ''}: "
            f"{len(result.written)} files written, {len(result.removed)} folders removed.")


def result_json(result: ApplyResult) -> dict[str, Any]:
    return {"applied": [c.name for c in result.changes],
            "written": [str(p) for p in result.written],
            "removed": [str(p) for p in result.removed]}
