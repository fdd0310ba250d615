"""Thin commands: parse the arguments, call the library, render. Exit codes: exits.py; the group: group.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..errors import MtlsgenError
from .completion import complete_entries
from .exits import NEEDS_ATTENTION, Documented, json_errors, make_console, say, user_errors
from .exits import no_color as _no_color
from .group import Cli, global_options
from .output_override import output_option

if TYPE_CHECKING:
    from ..engine.apply import Progress
    from ..engine.changes import Plan

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["SPEC_ARG", "main", "user_errors"]  # what wiring.py and export.py build on

# Argument > MTLSGEN_SPEC > ./pki.yaml (relative to -C DIR when given); click reads the variable.
SPEC_ARG = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False), default="pki.yaml",
                          envvar="MTLSGEN_SPEC")


@click.group(cls=Cli, params=global_options(hidden=False), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtlsgen")
def main() -> None:
    """Declarative PKI for mutual TLS: one pki.yaml in, CA, certificates, keystores and truststores out.

    SPEC defaults to $MTLSGEN_SPEC, else ./pki.yaml. Exit codes: 0 done, 1 error, 2 needs attention
    (plan --detailed-exitcode, status), 130 interrupted.
    """


@main.command(short_help="Write a commented starter spec; never overwrites.")
@SPEC_ARG
@click.option("--shared-ca", is_flag=True, help="Keep the CA in pki-ca/ beside the spec, its key encrypted with "
              "$PKI_CA_PASSPHRASE, to commit it: every clone then issues under the same CA.")
@user_errors
def init(spec: Path, shared_ca: bool) -> None:
    """Write a commented starter spec to SPEC (default ./pki.yaml); never overwrites. `-` prints it."""
    from .starter import SHARED_STARTER_SPEC, STARTER_SPEC, shared_next_steps

    text = SHARED_STARTER_SPEC if shared_ca else STARTER_SPEC
    if str(spec) == "-":
        click.echo(text, nl=False)
        return
    try:
        with spec.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise MtlsgenError(f"{spec} already exists; init never overwrites a spec") from None
    except OSError as exc:
        raise MtlsgenError(f"cannot write {spec}: {exc.strerror}") from None
    make_console(no_color=_no_color()).print(
        f"wrote {spec}; " + (shared_next_steps(str(spec)) if shared_ca else f"next: mtlsgen plan {spec}"))


@main.command(short_help="Check the spec only; exit 0 when valid, 1 if not.")
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@user_errors
def validate(spec: Path, as_json: bool) -> None:
    """Check SPEC only (no files read or written); exit 0 when valid, 1 with the first problem."""
    from ..spec.load import load_spec

    if as_json:
        from .documents import validate_error_json, validate_json

        try:
            loaded = load_spec(spec)
        except MtlsgenError as exc:  # the document, then the same one line on stderr and exit 1
            click.echo(json.dumps(validate_error_json(spec, str(exc)), indent=2))
            raise
        click.echo(json.dumps(validate_json(loaded), indent=2))
        return
    loaded = load_spec(spec)
    leaves = sum(1 for e in loaded.entries if not e.is_ca)
    cas = len(loaded.entries) - leaves
    # click.echo, not rich: one plain line does not need rich's ~20 ms import.
    click.echo(f"{spec}: valid ({cas} CA{'s' if cas != 1 else ''}, {leaves} certificate{'s' if leaves != 1 else ''})")


@main.command(short_help="Print the JSON Schema of the spec format.")
def schema() -> None:
    """Print the JSON Schema of the spec format."""
    from ..spec.model import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=False))


def _replace_option(func: F) -> F:
    func = click.option("--replace", "replace", multiple=True, metavar="NAME", shell_complete=complete_entries,
                        help="Re-key and reissue NAME (and what it issues) even if up to date; repeatable.")(func)
    func = click.option("--rotate", "rotate", multiple=True, metavar="CA",
                        help="Start rotating CA's key without an outage (docs: Rotating a CA); repeatable.")(func)
    return click.option("--prune", is_flag=True, help="Delete folders of entries no longer in the spec.")(func)


def _print_plan(the_plan: Plan, *, as_json: bool) -> None:
    """The plan on stdout; in text, its warnings follow on stderr (with --json they are in the document)."""
    from .documents import plan_json
    from .render import plan_text, warning_lines

    if as_json:
        click.echo(json.dumps(plan_json(the_plan), indent=2))
        return
    make_console(no_color=_no_color()).print(plan_text(the_plan))
    stderr = make_console(stderr=True, no_color=_no_color())
    for line in warning_lines(the_plan):
        stderr.print(line, style="yellow", overflow="ignore", crop=False)


@main.command(short_help="Show what apply would do, and why; writes nothing.")
@SPEC_ARG
@_replace_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending (0 none, 1 error).")
@output_option
@user_errors
@json_errors
def plan(spec: Path, replace: tuple[str, ...], rotate: tuple[str, ...], prune: bool, as_json: bool,
         detailed_exitcode: bool) -> None:
    """Show what apply would do, and why; writes nothing."""
    from .._api import plan as make
    from .output_override import load as load_spec

    the_plan = make(load_spec(spec), replace=replace, prune=prune, rotate=rotate)
    _print_plan(the_plan, as_json=as_json)
    _fail_if_blocked(the_plan)
    if detailed_exitcode and the_plan.pending:
        sys.exit(NEEDS_ATTENTION)


def _fail_if_blocked(the_plan: Plan) -> None:
    """`plan` (and `apply --dry-run`) show a blocked plan, then say why it cannot be applied."""
    from .render import blocked_line

    if the_plan.blocked:
        raise MtlsgenError(blocked_line(the_plan))


@main.command(short_help="Make the certificate folder match the spec.")
@SPEC_ARG
@_replace_option
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `mtlsgen plan`).")
@click.option("--lock-timeout", metavar="DURATION",
              help="Wait at most DURATION (e.g. 30s, 5m) for another apply of the same folder; default: wait.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@output_option
@user_errors
@json_errors
def apply(spec: Path, replace: tuple[str, ...], rotate: tuple[str, ...], prune: bool, dry_run: bool,
          lock_timeout: str | None, as_json: bool) -> None:
    """Make the certificate folder match SPEC: only what is missing, expiring or changed."""
    from .._api import apply as run
    from .._api import plan as make
    from ..errors import BlockedError
    from .documents import plan_json, result_json
    from .output_override import load as load_spec
    from .render import blocked_line, result_text

    loaded = load_spec(spec)
    if dry_run:
        the_plan = make(loaded, replace=replace, prune=prune, rotate=rotate)
        _print_plan(the_plan, as_json=as_json)
        _fail_if_blocked(the_plan)
        return
    console = make_console(no_color=_no_color())
    shown: list[Plan] = []

    def show(the_plan: Plan) -> None:
        from ..engine.changes import Action

        shown.append(the_plan)
        if not as_json and any(c.action is not Action.UNCHANGED for c in the_plan.changes):
            _print_plan(the_plan, as_json=False)

    try:
        with _progress(enabled=not as_json) as progress:
            the_plan, result = run(loaded, replace=replace, prune=prune, rotate=rotate, progress=progress, on_plan=show,
                                   lock_timeout=_seconds("--lock-timeout", lock_timeout), on_wait=_say_on_stderr)
    except MtlsgenError as exc:
        message = blocked_line(shown[0]) if isinstance(exc, BlockedError) else str(exc)
        if as_json:  # the document is printed whatever happens, with the plan when there was one
            click.echo(json.dumps({"plan": plan_json(shown[0]) if shown else None, "result": None,
                                   "error": message}, indent=2))
            raise Documented(message) from None
        raise MtlsgenError(message) from None
    if as_json:
        click.echo(json.dumps({"plan": plan_json(the_plan), "result": result_json(result)}, indent=2))
    else:
        console.print(result_text(the_plan, result))


def _seconds(option: str, text: str | None) -> float | None:
    """A duration option in seconds: `30s`, `5m`, `2h`, or a plain number of seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        value = float(number) * unit
    except ValueError:
        raise MtlsgenError(f"{option}: {text!r} is not a duration like 30s, 5m or 2h") from None
    if value < 0:
        raise MtlsgenError(f"{option}: {text!r} is negative")
    return value


def _say_on_stderr(message: str) -> None:
    say(message)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr while keys are generated, only on a terminal."""
    stderr = make_console(stderr=True, no_color=_no_color())
    if not enabled or not stderr.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             console=stderr, transient=True) as bar:
        task = bar.add_task("generating keys", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update


@main.command(short_help="Expiry, days left and state of every certificate and store.")
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@click.option("--fail-within", metavar="DURATION", help="Exit 2 if anything expires within DURATION (e.g. 30d).")
@output_option
@user_errors
@json_errors
def status(spec: Path, as_json: bool, fail_within: str | None) -> None:
    """Table of every certificate and store: expiry, days left, state. Reads only."""
    from .._api import status as report_status
    from ..spec.names import parse_duration
    from .documents import status_json
    from .output_override import load as load_spec
    from .render import status_problems, status_tables

    try:
        within = parse_duration(fail_within) if fail_within else None
    except ValueError as exc:
        raise MtlsgenError(f"--fail-within: {exc}") from None
    report = report_status(load_spec(spec), fail_within=within)
    if as_json:
        click.echo(json.dumps(status_json(report), indent=2))
    else:
        console = make_console(no_color=_no_color())
        for table in status_tables(report):
            console.print(table)
    if report.failing:  # not an error (1): the report is complete and says what to look at
        if not as_json:  # the document says which ("ok": false, and each state)
            problems = status_problems(report)
            more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
            verb = "needs" if len(problems) == 1 else "need"
            say(f"{len(problems)} {verb} attention: {'; '.join(problems[:3])}{more}", style="yellow")
        sys.exit(NEEDS_ATTENTION)


@main.command(short_help="Check chains and stores; run mTLS handshakes on loopback.")
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@output_option
@user_errors
@json_errors
def verify(spec: Path, as_json: bool) -> None:
    """Check chains, key pairs and stores, and run real mTLS handshakes on 127.0.0.1."""
    from .._api import verify as run_verify
    from .documents import verify_json
    from .output_override import load as load_spec
    from .render import check_detail, verify_table

    report = run_verify(load_spec(spec))
    console = make_console(no_color=_no_color())
    if as_json:
        click.echo(json.dumps(verify_json(report), indent=2))
    else:
        console.print(verify_table(report))
    failed = report.failed
    if failed:  # not an error (1): every check ran, and the report says which failed
        first = failed[0]
        if not as_json:
            say(f"{len(failed)} check{'s' if len(failed) != 1 else ''} failed; first: {first.kind} "
                f"{first.subject}: {check_detail(first)}", style="yellow")
        sys.exit(NEEDS_ATTENTION)
    if as_json:
        return
    console.print(f"All {len(report.checks)} checks passed.")
