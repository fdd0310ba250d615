"""Plans and results as rich renderables and JSON documents. Never prints, never exits."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..engine.apply import ApplyResult
from ..engine.changes import Action, Plan
from ..reports.status import StatusReport
from ..reports.verify import VerifyReport

STYLES = {Action.CREATE: "green", Action.REISSUE: "yellow", Action.RENEW: "yellow",
          Action.REPLACE: "magenta", Action.REPACK: "cyan", Action.REVOKE: "red", Action.PRUNE: "red",
          Action.ORPHAN: "dim", Action.UNCHANGED: "dim", Action.BLOCKED: "bold red"}
_SUMMARY_ORDER = (Action.CREATE, Action.REISSUE, Action.RENEW, Action.REPLACE, Action.REPACK,
                  Action.REVOKE, Action.PRUNE, Action.BLOCKED)
_VERBS = {Action.CREATE: "to create", Action.REISSUE: "to reissue", Action.RENEW: "to renew",
          Action.REPLACE: "to replace", Action.REPACK: "to repack", Action.REVOKE: "to revoke",
          Action.PRUNE: "to prune", Action.BLOCKED: "blocked"}


def plan_text(plan: Plan, *, show_unchanged: bool = False) -> Text:
    """One line per entry that changes: symbol, name, action, reasons; then a summary.

    The plan's warnings are not part of it: the CLI prints warning_lines on stderr.
    """
    shown = [c for c in plan.changes if show_unchanged or c.action is not Action.UNCHANGED]
    width = max((len(c.name) for c in shown), default=0)
    out = Text()
    for change in shown:
        style = STYLES[change.action]
        out.append(f"  {change.symbol} {change.name.ljust(width)}  ", style=style)
        out.append(f"{change.action.value:<9} ", style=style)
        out.append("; ".join(change.reasons))
        out.append("\n")
    out.append(summary(plan))
    return out


def warning_lines(plan: Plan) -> list[str]:
    """`warning: …`, one line per warning of the plan (a literal password in the spec, …)."""
    return [f"warning: {warning}" for warning in plan.warnings]


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
    parts = [_count(len(result.changes), "change"), _count(len(result.written), "file") + " written"]
    if result.removed:
        parts.append(f"{len(result.removed)} removed")
    return f"Applied {parts[0]}: {', '.join(parts[1:])}."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def result_json(result: ApplyResult) -> dict[str, Any]:
    return {"applied": [c.name for c in result.changes],
            "written": [str(p) for p in result.written],
            "removed": [str(p) for p in result.removed]}


_STATE_STYLES = {"ok": "green", "revoked": "dim", "renew due": "yellow", "stale": "yellow"}


def status_tables(report: StatusReport) -> list[Table]:
    certs = Table(title=f"Certificates at {report.now:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("entry", "role", "CN", "SANs", "key", "issuer", "not after", "days", "state"):
        certs.add_column(column, justify="right" if column == "days" else "left")
    for c in report.certificates:
        certs.add_row(c.name, c.role, c.cn, ", ".join(c.sans), c.key, c.issuer,
                      f"{c.not_after:%Y-%m-%d}" if c.not_after else "-",
                      str(c.days_left) if c.days_left is not None else "-",
                      Text(c.state + (f": {c.detail}" if c.detail and c.state != "ok" else ""),
                           style=_STATE_STYLES.get(c.state, "red")))
    tables = [certs]
    if report.stores:
        stores = Table(title="Stores", title_justify="left")
        for column in ("entry", "file", "format", "alias", "opens", "state"):
            stores.add_column(column)
        for s in report.stores:
            stores.add_row(s.name, s.file, s.format, s.alias, "yes" if s.opens else "no",
                           Text(s.state + (f": {s.detail}" if s.detail else ""),
                                style=_STATE_STYLES.get(s.state, "red")))
        tables.append(stores)
    return tables


def status_json(report: StatusReport) -> dict[str, Any]:
    return {
        "now": report.now.isoformat(),
        "ok": not report.failing,
        "certificates": [{"name": c.name, "role": c.role, "cn": c.cn, "sans": list(c.sans), "key": c.key,
                          "issuer": c.issuer, "not_after": c.not_after.isoformat() if c.not_after else None,
                          "days_left": c.days_left, "state": c.state, "detail": c.detail}
                         for c in report.certificates],
        "stores": [{"name": s.name, "file": s.file, "format": s.format, "alias": s.alias, "opens": s.opens,
                    "state": s.state, "detail": s.detail} for s in report.stores],
    }


def verify_table(report: VerifyReport) -> Table:
    table = Table(title="Verification", title_justify="left")
    for column in ("check", "subject", "result", "detail"):
        table.add_column(column)
    for check in report.checks:
        table.add_row(check.kind, check.subject, Text("ok" if check.ok else "FAIL",
                                                      style="green" if check.ok else "bold red"), check.detail)
    return table
