"""Thin commands: parse the arguments, call the library, render. User errors → one line, exit 1."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..errors import MtlsgenError
from .output_override import output_option

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine.apply import Progress
    from ..engine.changes import Plan

F = TypeVar("F", bound=Callable[..., Any])


def make_console(*, stderr: bool = False, no_color: bool = False) -> Console:
    """cli/console.py's, imported on first use: `--version`, `--help` and `validate` never load rich."""
    from .console import make_console as make

    return make(stderr=stderr, no_color=no_color)


SPEC_ARG = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False), default="pki.yaml")


# The one boundary where errors become exit codes (the tree: mtlsgen/errors.py). Every error a
# user can cause exits 1; 2 is kept for `plan --detailed-exitcode` ("changes pending").
EXIT_CODES: dict[type[MtlsgenError], int] = {MtlsgenError: 1}


INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C


def exit_code(exc: MtlsgenError) -> int:
    return next(code for cls, code in EXIT_CODES.items() if isinstance(exc, cls))


def user_errors(func: F) -> F:
    """MtlsgenError → `error: …` on stderr and its exit code; any other exception is a bug and keeps its trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MtlsgenError as exc:
            make_console(stderr=True, no_color=_no_color()).print(f"error: {exc}", style="red",
                                                                    overflow="ignore", crop=False)
            sys.exit(exit_code(exc))
        except KeyboardInterrupt:
            # Every file is written whole or not at all; the next run removes what was half-made.
            make_console(stderr=True, no_color=_no_color()).print(
                "error: interrupted; no file is half-written: run the same command again to finish",
                style="red", overflow="ignore", crop=False)
            sys.exit(INTERRUPTED)

    return wrapper  # type: ignore[return-value]


def _no_color() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("no_color"))


class _Cli(click.Group):
    """The command group, with click's usage errors (exit 2) exiting 1 like every other error.

    Exit code 2 is reserved for `plan --detailed-exitcode`. Usage errors arise while the group or a
    command parses its arguments (make_context) or while the group picks the command (invoke); the
    message is click's own, only its exit code changes. Both `python -m mtlsgen` and CliRunner go
    through here, as both call main(), which lets click's standalone handler read the exit code.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_exit_1():
            return super().invoke(ctx)


@contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    try:
        yield
    except click.UsageError as exc:
        # One line, like every other error; click's own multi-line usage block is only a --help away.
        command = exc.ctx.command_path if exc.ctx is not None else "mtlsgen"
        make_console(stderr=True, no_color=_no_color()).print(
            f"error: {exc.format_message()} (see `{command} --help`)", style="red", overflow="ignore", crop=False)
        sys.exit(1)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtlsgen")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR, or output to a pipe).")
def main(no_color: bool) -> None:
    """Declarative PKI for mutual TLS: one pki.yaml in, CA, certificates, keystores and truststores out."""


@main.command(short_help="Write a commented starter spec; never overwrites.")
@SPEC_ARG
@user_errors
def init(spec: Path) -> None:
    """Write a commented starter spec to SPEC (default ./pki.yaml); never overwrites. `-` prints it."""
    from .starter import STARTER_SPEC

    if str(spec) == "-":
        click.echo(STARTER_SPEC, nl=False)
        return
    try:
        with spec.open("x", encoding="utf-8") as handle:
            handle.write(STARTER_SPEC)
    except FileExistsError:
        raise MtlsgenError(f"{spec} already exists; init never overwrites a spec") from None
    except OSError as exc:
        raise MtlsgenError(f"cannot write {spec}: {exc.strerror}") from None
    make_console(no_color=_no_color()).print(f"wrote {spec}; next: mtlsgen plan {spec}")


@main.command(short_help="Check the spec only; exit 0 when valid, 1 if not.")
@SPEC_ARG
@user_errors
def validate(spec: Path) -> None:
    """Check SPEC only (no files read or written); exit 0 when valid, 1 with the first problem."""
    from ..spec.load import load_spec

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
    func = click.option("--replace", "replace", multiple=True, metavar="NAME",
                        help="Re-key and reissue NAME (and what it issues) even if up to date; repeatable.")(func)
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
def plan(spec: Path, replace: tuple[str, ...], prune: bool, as_json: bool, detailed_exitcode: bool) -> None:
    """Show what apply would do, and why; writes nothing."""
    from .._api import plan as make
    from .output_override import load as load_spec

    the_plan = make(load_spec(spec), replace=replace, prune=prune)
    _print_plan(the_plan, as_json=as_json)
    _fail_if_blocked(the_plan)
    if detailed_exitcode and the_plan.pending:
        sys.exit(2)


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
def apply(spec: Path, replace: tuple[str, ...], prune: bool, dry_run: bool, lock_timeout: str | None,
          as_json: bool) -> None:
    """Make the certificate folder match SPEC: only what is missing, expiring or changed."""
    from .._api import apply as run
    from .._api import plan as make
    from ..errors import BlockedError
    from .documents import plan_json, result_json
    from .output_override import load as load_spec
    from .render import blocked_line, result_text

    loaded = load_spec(spec)
    if dry_run:
        the_plan = make(loaded, replace=replace, prune=prune)
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
            the_plan, result = run(loaded, replace=replace, prune=prune, progress=progress, on_plan=show,
                                   lock_timeout=_seconds("--lock-timeout", lock_timeout), on_wait=_say_on_stderr)
    except MtlsgenError as exc:
        message = blocked_line(shown[0]) if isinstance(exc, BlockedError) else str(exc)
        if as_json:  # the document is printed whatever happens, with the plan when there was one
            click.echo(json.dumps({"plan": plan_json(shown[0]) if shown else None, "result": None,
                                   "error": message}, indent=2))
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
    make_console(stderr=True, no_color=_no_color()).print(message, overflow="ignore", crop=False)


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
@click.option("--fail-within", metavar="DURATION", help="Exit 1 if anything expires within DURATION (e.g. 30d).")
@output_option
@user_errors
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
    if report.failing and as_json:
        sys.exit(1)  # the document says which ("ok": false, and each state)
    if report.failing:
        problems = status_problems(report)
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise MtlsgenError(f"{len(problems)} need attention: {'; '.join(problems[:3])}{more}")


@main.command(short_help="Check chains and stores; run mTLS handshakes on loopback.")
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, nothing else.")
@output_option
@user_errors
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
    if failed:
        first = failed[0]
        raise MtlsgenError(f"{len(failed)} check{'s' if len(failed) != 1 else ''} failed; first: "
                           f"{first.kind} {first.subject}: {check_detail(first)}")
    if as_json:
        return
    console.print(f"All {len(report.checks)} checks passed.")
