"""The --json documents of plan, apply, status, verify and validate (their shapes: docs/json.md).

Each carries `format_version`; each reason carries its kind and file beside its words, so that
scripts read kinds, never text.
"""

from __future__ import annotations

from typing import Any

from ..engine.apply import ApplyResult
from ..engine.changes import Action, Change, Plan
from ..reports.status import StatusReport
from ..reports.verify import VerifyReport
from .render import change_folder, check_detail, status_detail, where
from .words import reason_text

# The version of every document's shape; bumped when a field changes meaning or goes away.
FORMAT_VERSION = 1


def reasons_json(plan: Plan, change: Change) -> list[dict[str, str | None]]:
    """Each reason with its kind and file, for scripts, and its words, for people."""
    at = where(plan, change)
    return [{"kind": r.kind.value, "file": r.file or None, "text": reason_text(r, at)} for r in change.reasons]


def plan_json(plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "spec": str(plan.spec.path),
        "output": str(plan.spec.output),
        "now": plan.now.isoformat(),
        "changes": [{"name": c.name, "folder": change_folder(plan, c), "action": c.action.value, "symbol": c.symbol,
                     "reasons": reasons_json(plan, c), "files": list(c.files),
                     "chmod": list(c.chmod), "remove": list(c.remove)} for c in plan.changes],
        "summary": {a.value: counts[a] for a in Action},
        "pending": len(plan.pending),
        "warnings": list(plan.warnings),
    }


def result_json(result: ApplyResult) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "applied": [c.name for c in result.changes],
            "written": [str(p) for p in result.written],
            "removed": [str(p) for p in result.removed]}


def status_json(report: StatusReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "now": report.now.isoformat(),
        "ok": not report.failing,
        "certificates": [{"name": c.name, "role": c.role, "cn": c.cn, "sans": list(c.sans), "key": c.key,
                          "issuer": c.issuer, "not_after": c.not_after.isoformat() if c.not_after else None,
                          "days_left": c.days_left, "state": c.state, "detail": status_detail(c),
                          "reasons": [{"kind": r.kind.value, "file": r.file or None} for r in c.reasons]}
                         for c in report.certificates],
        "stores": [{"name": s.name, "file": s.file, "format": s.format, "alias": s.alias, "opens": s.opens,
                    "state": s.state, "detail": status_detail(s),
                    "reasons": [{"kind": r.kind.value, "file": r.file or None} for r in s.reasons]}
                   for s in report.stores],
        "crls": [{"name": c.name, "file": c.file, "number": c.number,
                  "next_update": c.next_update.isoformat() if c.next_update else None, "days_left": c.days_left,
                  "revoked": c.revoked, "state": c.state, "detail": status_detail(c),
                  "reasons": [{"kind": r.kind.value, "file": r.file or None} for r in c.reasons]}
                 for c in report.crls],
        "orphans": list(report.orphans),
    }


def verify_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "ok": not report.failed,
        "checks": [{"kind": c.kind, "subject": c.subject, "ok": c.ok, "detail": check_detail(c),
                    "reason": c.reason.kind.value if c.reason else None} for c in report.checks],
    }
