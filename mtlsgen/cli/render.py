"""Plans, results and reports as rich renderables and lines of text. Never prints, never exits."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ..engine.apply import ApplyResult
from ..engine.changes import Action, Change, Plan
from ..reports.status import CertStatus, CrlStatus, StatusReport, StoreStatus
from ..reports.verify import Check, VerifyReport
from ..spec.entries import ROOT
from .words import Where, reason_text

STYLES = {Action.CREATE: "green", Action.REISSUE: "yellow", Action.RENEW: "yellow", Action.REPLACE: "magenta",
          Action.REPACK: "cyan", Action.ROTATE: "magenta", Action.REVOKE: "red", Action.PRUNE: "red",
          Action.ORPHAN: "dim", Action.UNCHANGED: "dim", Action.BLOCKED: "bold red"}
_SUMMARY_ORDER = (Action.CREATE, Action.REISSUE, Action.RENEW, Action.REPLACE, Action.ROTATE, Action.REPACK,
                  Action.REVOKE, Action.PRUNE, Action.BLOCKED)
_VERBS = {Action.CREATE: "to create", Action.REISSUE: "to reissue", Action.RENEW: "to renew",
          Action.REPLACE: "to replace", Action.ROTATE: "to rotate", Action.REPACK: "to repack",
          Action.REVOKE: "to revoke", Action.PRUNE: "to prune", Action.BLOCKED: "blocked"}


def plan_text(plan: Plan, *, show_unchanged: bool = False) -> Text:
    """One line per entry that changes: symbol, name, action, reasons; then a summary.

    The plan's warnings are not part of it: the CLI prints warning_lines on stderr.
    """
    shown = [c for c in plan.changes if show_unchanged or c.action is not Action.UNCHANGED]
    width = max((len(shown_name(plan, c)) for c in shown), default=0)
    out = Text()
    for change in shown:
        style = STYLES[change.action]
        out.append(f"  {change.symbol} {shown_name(plan, change).ljust(width)}  ", style=style)
        out.append(f"{change.action.value:<9} ", style=style)
        out.append("; ".join(reason_texts(plan, change)))
        out.append("\n")
    out.append(summary(plan))
    return out


def change_folder(plan: Plan, change: Change) -> str:
    """The folder a change's files are in, relative to the spec's folder: `certs/api`, or a shared
    CA's own folder beside the output (`pki-ca`)."""
    if change.scope == "output":
        return plan.spec.output_label
    shared = plan.spec.shared
    if change.scope == "entry" and shared is not None and change.name == ROOT:
        return shared.label
    return f"{plan.spec.output_label}/{change.name}"


def shown_name(plan: Plan, change: Change) -> str:
    """A change's name in the plan's text: a shared CA's says where its files are, `ca (pki-ca/)`."""
    shared = plan.spec.shared
    if change.scope == "entry" and shared is not None and change.name == ROOT:
        return f"{change.name} ({shared.label}/)"
    return change.name


def where(plan: Plan, change: Change) -> Where:
    """How the change's reasons name their files and folders."""
    shared = plan.spec.shared
    return Where(change.name if change.scope == "entry" else "", plan.spec.output_label,
                 prefix_ca_files=change.action is Action.BLOCKED,
                 folder=shared.label if shared is not None and change.scope == "entry" and change.name == ROOT else "")


def reason_texts(plan: Plan, change: Change) -> list[str]:
    at = where(plan, change)
    return [reason_text(r, at) for r in change.reasons]


def blocked_line(plan: Plan) -> str:
    """Why the plan cannot be applied, in one sentence (its first blocked change)."""
    change = plan.blocked[0]
    return f"{change.name} is blocked: {'; '.join(reason_texts(plan, change))}"


def warning_lines(plan: Plan) -> list[str]:
    """`warning: …`, one line per warning of the plan (a literal password in the spec, …)."""
    return [f"warning: {warning}" for warning in plan.warnings]


def summary(plan: Plan) -> str:
    """The counts of the lines above: every change is counted once, under its action; an entry that
    is revoked and has nothing left to remove is counted as revoked, not as up to date."""
    counts = plan.counts()
    parts = [f"{counts[a]} {_VERBS[a]}" for a in _SUMMARY_ORDER if counts[a]]
    revoked = sum(1 for c in plan.changes if c.action is Action.UNCHANGED and c.scope == "entry"
                  and plan.spec[c.name].revoked)
    unchanged = counts[Action.UNCHANGED] - revoked
    tail = "".join(f" {n} {word}." for n, word in ((revoked, "revoked"), (counts[Action.ORPHAN], "orphaned")) if n)
    if not parts:
        return f"No changes: {unchanged} up to date.{tail}"
    return f"Plan: {', '.join(parts)}. {unchanged} unchanged.{tail}"


def result_text(plan: Plan, result: ApplyResult) -> str:
    if not result.changes:
        orphans = plan.counts()[Action.ORPHAN]
        kept = (f" {_count(orphans, 'orphaned folder')} kept: apply --prune revokes and deletes "
                f"{'it' if orphans == 1 else 'them'}." if orphans else "")
        return f"Nothing to do: every file is up to date.{kept}"
    parts = [_count(len(result.changes), "change"), _count(len(result.written), "file") + " written"]
    if result.removed:
        parts.append(f"{len(result.removed)} removed")
    return f"Applied {parts[0]}: {', '.join(parts[1:])}."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


_STATE_STYLES = {"ok": "green", "revoked": "dim", "renew due": "yellow", "stale": "yellow"}


def status_tables(report: StatusReport) -> list[Table]:
    certs = Table(title=f"Certificates at {report.now:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("entry", "role", "CN", "SANs", "key", "issuer", "not after", "days", "state"):
        certs.add_column(column, justify="right" if column == "days" else "left")
    for c in report.certificates:
        certs.add_row(c.name, c.role, c.cn, ", ".join(c.sans), c.key, c.issuer,
                      f"{c.not_after:%Y-%m-%d}" if c.not_after else "-",
                      str(c.days_left) if c.days_left is not None else "-",
                      Text(c.state + (f": {detail}" if (detail := status_detail(c)) and c.state != "ok" else ""),
                           style=_STATE_STYLES.get(c.state, "red")))
    tables = [certs]
    if report.stores:
        stores = Table(title="Stores", title_justify="left")
        for column in ("entry", "file", "format", "alias", "opens", "state"):
            stores.add_column(column)
        for s in report.stores:
            stores.add_row(s.name, s.file, s.format, s.alias or "-", "yes" if s.opens else "no",
                           Text(s.state + (f": {detail}" if (detail := status_detail(s)) else ""),
                                style=_STATE_STYLES.get(s.state, "red")))
        tables.append(stores)
    if report.crls:
        crls = Table(title="CRLs (servers refuse every client once one lapses)", title_justify="left")
        for column in ("CA", "file", "number", "revoked", "next update", "days", "state"):
            crls.add_column(column, justify="right" if column in ("number", "revoked", "days") else "left")
        for row in report.crls:
            crls.add_row(row.name, row.file, str(row.number) if row.number is not None else "-", str(row.revoked),
                         f"{row.next_update:%Y-%m-%d}" if row.next_update else "-",
                         str(row.days_left) if row.days_left is not None else "-",
                         Text(row.state + (f": {detail}" if (detail := status_detail(row)) else ""),
                              style=_STATE_STYLES.get(row.state, "red")))
        tables.append(crls)
    if report.rotations:
        rotations = Table(title="Rotations (docs/spec.md: Rotating a CA)", title_justify="left")
        for column in ("CA", "phase", "next step", "on"):
            rotations.add_column(column)
        for r in report.rotations:
            step, when = r.next_step()
            rotations.add_row(r.ca, r.phase.replace("_", " "), step, f"{when:%Y-%m-%d %H:%M} UTC" if when else "-")
        tables.append(rotations)
    if report.orphans:
        orphans = Table(title="Orphans (not in the spec; apply --prune revokes and deletes them)", title_justify="left")
        orphans.add_column("folder")
        for name in report.orphans:
            orphans.add_row(name + "/")
        tables.append(orphans)
    return tables


def verify_table(report: VerifyReport) -> Table:
    table = Table(title="Verification", title_justify="left")
    for column in ("check", "subject", "result", "detail"):
        table.add_column(column)
    for check in report.checks:
        table.add_row(check.kind, check.subject, Text("ok" if check.ok else "FAIL",
                                                      style="green" if check.ok else "bold red"), check_detail(check))
    return table


def status_detail(row: CertStatus | StoreStatus | CrlStatus) -> str:
    """Why a status row is in its state, in words."""
    if isinstance(row, CertStatus) and row.state == "revoked":
        return "revoked in the spec; no files"
    at = Where(row.name)
    return "; ".join(reason_text(r, at) for r in row.reasons)


def status_problems(report: StatusReport) -> list[str]:
    """One phrase per certificate or store that needs attention, e.g. `bob: renew due`."""
    return [f"{row.name}: {row.state}" if isinstance(row, CertStatus) else
            f"{row.file}: {row.state}" if isinstance(row, CrlStatus) else f"{row.name}/{row.file}: {row.state}"
            for row in report.attention]


def check_detail(check: Check) -> str:
    return reason_text(check.reason, Where(check.subject.split("/")[0])) if check.reason else check.detail
