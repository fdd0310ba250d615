"""`mtlsgen snippet` and `mtlsgen env`: thin commands over mtlsgen.reports.wiring.

Registered on the `main` group by being imported (mtlsgen/cli/__init__.py imports this module after
commands). Output goes through click.echo, not rich: a snippet is text to paste, and rich would read
`[…]` in it as markup.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from ..errors import MtlsgenError
from .commands import SPEC_ARG, main, user_errors
from .completion import complete_leaves
from .output_override import load, output_option

# The names of mtlsgen.reports.wiring.TARGETS, spelled here so that starting the CLI imports no
# wiring code (tests/wiring/test_cli.py checks that both lists agree).
TARGET_NAMES = ("spring", "tomcat", "nginx", "curl", "python", "java", "openssl")

_complete_names = complete_leaves  # entry names without loading the spec (cli/completion.py); export.py uses it


@main.command(short_help="Print an entry's configuration for Spring, Tomcat, nginx, curl, …")
@click.argument("name", shell_complete=_complete_names)
@SPEC_ARG
@click.option("--for", "target", type=click.Choice(TARGET_NAMES),
              help="servers: spring, tomcat, nginx, openssl (s_server); clients: spring, curl, python, java, "
                   "openssl (s_client).")
@click.option("--absolute", is_flag=True,
              help="Absolute paths. Default: relative to the current folder (tomcat and nginx always get "
                   "absolute ones: they resolve paths against their own folders).")
@click.option("--listen", metavar="[ADDRESS:]PORT", help="Servers: where to listen (default 8443).")
@click.option("--url", metavar="URL", help="Clients: the server to call (default: https://, the spec's first "
                                           "server's first DNS name, :8443/).")
@click.option("--format", "store_format", type=click.Choice(["pkcs12", "jks"]),
              help="The store file to use when the spec makes both (default: the first of its formats).")
@output_option
@user_errors
def snippet(name: str, spec: Path, target: str | None, absolute: bool, listen: str | None, url: str | None,
            store_format: str | None) -> None:
    """Print ready-to-paste configuration for entry NAME of SPEC, with its real paths.

    Passwords appear as ${VARIABLES} with the line that sets each from its source (a password file,
    your environment variable); never their values. `mtlsgen env NAME` prints the values.
    """
    from ..reports.wiring import Request
    from ..reports.wiring import snippet as render

    if target is None:  # checked here, not by click, whose message for it spans several lines
        raise MtlsgenError(f"--for TARGET is required: {', '.join(TARGET_NAMES)}")
    request = Request(target, absolute=absolute, listen=listen, url=url,
                      store_format="jks" if store_format == "jks" else "pkcs12" if store_format else None)
    click.echo(render(load(spec), name, request), nl=False)


@main.command(short_help="Print an entry's passwords as shell exports (prints secrets).")
@click.argument("name", shell_complete=_complete_names)
@SPEC_ARG
@output_option
@user_errors
def env(name: str, spec: Path) -> None:
    """Print NAME's passwords as shell `export VAR=value` lines, with the variable names the snippets use.

    This prints secrets, by design and only here: use it as `eval "$(mtlsgen env NAME)"`, or write
    it to a file only you can read. Generated passwords come from their files (run apply first).
    """
    from ..reports.wiring import environment

    assignments = environment(load(spec), name)
    if not assignments:
        click.echo(f"{name} has no passwords (no key store, trust store or key_password)", err=True)
    for var, value in assignments:
        click.echo(f"export {var}={shlex.quote(value)}")
