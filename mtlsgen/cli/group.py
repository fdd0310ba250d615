"""The command group: global options anywhere on the line, usage errors exit 1, a bare command shows help.

Global options (`-C DIR`, `--no-color`) are the group's and, hidden, every subcommand's too, so that
`mtlsgen plan --no-color` works like `mtlsgen --no-color plan` (as with git, and as scripts append
flags). Their values ride in click's ctx.meta, shared by every context of a run, so that adding them to
a command changes no signature.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .exits import ERROR, NO_COLOR_KEY, fail, say


def _record_no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[NO_COLOR_KEY] = True


def _change_dir(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """`-C DIR`: chdir while parsing, before SPEC (a click.Path, checked at parse time) is looked at."""
    if value is None:
        return
    try:
        os.chdir(os.path.expanduser(value))
    except OSError as exc:
        if ctx.resilient_parsing:  # shell completion: say nothing, complete from where we are
            return
        why = ("no such folder" if isinstance(exc, FileNotFoundError)
               else "not a folder" if isinstance(exc, NotADirectoryError) else exc.strerror)
        fail(f"-C {value}: {why}")


def global_options(*, hidden: bool) -> list[click.Option]:
    # is_eager: both take effect before the other parameters of the same command are converted (and may
    # fail), in the order given.
    return [
        click.Option(["-C", "directory"], metavar="DIR", is_eager=True, expose_value=False, hidden=hidden,
                     callback=_change_dir,
                     help="Change to DIR first (like git -C): SPEC, MTLSGEN_SPEC and --output are relative to it."),
        click.Option(["--no-color"], is_flag=True, is_eager=True, expose_value=False, hidden=hidden,
                     callback=_record_no_color,
                     help="No colour (also: NO_COLOR, or output to a pipe)."),
    ]


class Cli(click.Group):
    """The group class of `mtlsgen` and its subgroups (`export`).

    Exit code 2 is kept for "needs attention" (exits.py), so click's usage errors (its exit 2) exit 1.
    Usage errors arise while a group or command parses its arguments (make_context) or while the group
    picks the command (invoke); the message is click's own, only its exit code and shape change. Both
    `python -m mtlsgen` and CliRunner go through here, as both call main().
    """

    group_class = type  # `@main.group()` makes a Cli too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        known = {p.name for p in cmd.params}
        cmd.params.extend(o for o in global_options(hidden=True) if o.name not in known)
        super().add_command(cmd, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A bare `mtlsgen` (or `mtlsgen export`) asks what there is: the help, on stdout, exit 0.
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)

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
        say(f"error: {exc.format_message()} (see `{command} --help`)", style="red")
        raise SystemExit(ERROR) from None
