"""The --json documents of validate, plan, apply, status and verify (their shapes: docs/json.md).

Each carries `format_version`; each reason carries its kind and file beside its words, so that
scripts read kinds, never text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `validate --json` loads no engine, report or rich module
    from ..engine.apply import ApplyResult
    from ..engine.changes import Change, Plan, Rotation
    from ..reports.status import StatusReport
    from ..reports.verify import VerifyReport
    from ..spec.entries import Spec

# The version of every document's shape; bumped when a field changes meaning or goes away.
FORMAT_VERSION = 1


def reasons_json(plan: Plan, change: Change) -> list[dict[str, str | None]]:
    """Each reason with its kind and file, for scripts, and its words, for people."""
    from .render import where
    from .words import reason_text

    at = where(plan, change)
    return [{"kind": r.kind.value, "file": r.file or None, "text": reason_text(r, at)} for r in change.reasons]


def plan_json(plan: Plan) -> dict[str, Any]:
    from ..engine.changes import Action
    from .render import change_folder

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
        "rotations": [rotation_json(r) for r in plan.rotations],
    }


def result_json(result: ApplyResult) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "applied": [c.name for c in result.changes],
            "written": [str(p) for p in result.written],
            "removed": [str(p) for p in result.removed]}


def status_json(report: StatusReport) -> dict[str, Any]:
    from .render import status_detail

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
        "rotations": [rotation_json(r) for r in report.rotations],
    }


def rotation_json(r: Rotation) -> dict[str, Any]:
    step, when = r.next_step()
    return {"ca": r.ca, "phase": r.phase, "next_step": step, "next_step_at": when.isoformat() if when else None,
            "move_at": r.move_at.isoformat() if r.move_at else None,
            "finish_at": r.finish_at.isoformat() if r.finish_at else None,
            "retired_until": r.retired_until.isoformat() if r.retired_until else None}


def verify_json(report: VerifyReport) -> dict[str, Any]:
    from .render import check_detail

    return {
        "format_version": FORMAT_VERSION,
        "ok": not report.failed,
        "checks": [{"kind": c.kind, "subject": c.subject, "ok": c.ok, "detail": check_detail(c),
                    "reason": c.reason.kind.value if c.reason else None} for c in report.checks],
    }


def validate_json(spec: Spec) -> dict[str, Any]:
    """A valid spec: its entries resolved (every default applied), issuers first."""
    leaves = [e for e in spec.entries if not e.is_ca]
    return {
        "format_version": FORMAT_VERSION,
        "valid": True,
        "spec": str(spec.path),
        "output": str(spec.output),
        "cas": len(spec.entries) - len(leaves),
        "certificates": len(leaves),
        "entries": [{"name": e.name, "role": e.role, "issuer": e.issuer, "cn": e.cn, "sans": [str(s) for s in e.sans],
                     "key": e.key, "validity": e.validity_text, "revoked": e.revoked, "line": e.line}
                    for e in spec.entries],
    }


# The one-line messages of SpecError (spec/yamlsrc.py): `file:line: field: reason`, `file:line: reason`
# or `file: reason`. A field is a path like `servers.api.sans[2]`: no space, no colon.
_LOCATED = re.compile(r"(?P<file>.+?):(?P<line>[0-9]+): (?P<rest>.*)", re.DOTALL)
_FIELD = re.compile(r"(?P<field>[^\s:]+): (?P<message>.*)", re.DOTALL)
_FILE = re.compile(r"(?P<file>[^\s:][^:]*): (?P<message>.*)", re.DOTALL)


def error_json(spec: Path | None, message: str) -> dict[str, Any]:
    """A command's `--json` document when it fails: where the problem is, as validate --json says it."""
    return {"format_version": FORMAT_VERSION, "error": validate_error_json(spec or Path(), message)["error"]}


def validate_error_json(spec: Path, message: str) -> dict[str, Any]:
    """An invalid spec: where the first problem is (`line` and `field` null when unknown) and what."""
    error: dict[str, Any] = {"file": None, "line": None, "field": None, "message": message}
    located = _LOCATED.fullmatch(message)
    if located:
        error.update(file=located["file"], line=int(located["line"]), message=located["rest"])
        field = _FIELD.fullmatch(located["rest"])
        if field:
            error.update(field=field["field"], message=field["message"])
    elif (whole := _FILE.fullmatch(message)) and whole["file"] == str(spec):
        error.update(file=whole["file"], message=whole["message"])
    return {"format_version": FORMAT_VERSION, "valid": False, "spec": str(spec), "error": error}
