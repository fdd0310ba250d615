"""`mtlsgen export k8s`: thin command over mtlsgen.reports.kubernetes.

Registered on the `main` group by being imported (mtlsgen/cli/__init__.py). Output goes through
click.echo: manifests are text to pipe into `kubectl apply -f -`.
"""

from __future__ import annotations

from pathlib import Path

import click

from .commands import SPEC_ARG, main, user_errors
from .output_override import load, output_option
from .wiring import _complete_names


@main.group(short_help="Hand over to other tools: Kubernetes Secrets, the JSON Schema.")
def export() -> None:
    """Print what another tool needs to take over the files of an applied spec."""


@export.command("k8s", short_help="Print Kubernetes Secrets (cert-manager's keys) and optionally a CA Issuer.")
@SPEC_ARG
@click.option("--entry", "entries", multiple=True, metavar="NAME", shell_complete=_complete_names,
              help="Export this leaf (repeatable). Default: every server and client not revoked.")
@click.option("--namespace", metavar="NS", help="metadata.namespace of every object (default: none, "
                                                 "kubectl's current namespace).")
@click.option("--name-prefix", default="", metavar="P", help="Prepended to every object name.")
@click.option("--include-ca-key", is_flag=True,
              help="Also print the root CA as a Secret holding its certificate AND ITS PRIVATE KEY.")
@click.option("--issuer", is_flag=True, help="Also print a cert-manager CA Issuer using that CA Secret "
                                              "(needs --include-ca-key).")
@output_option
@user_errors
def k8s(spec: Path, entries: tuple[str, ...], namespace: str | None, name_prefix: str, include_ca_key: bool,
        issuer: bool) -> None:
    """Print Kubernetes manifests for the applied files of SPEC, for `kubectl apply -f -`.

    Per entry: a kubernetes.io/tls Secret with tls.crt, tls.key, ca.crt and the key and trust stores
    under their file names (cert-manager's keys), and the store passwords in a separate Opaque Secret
    NAME-passwords. These print secrets: pipe them to kubectl, do not commit them. The CA key is printed
    only with --include-ca-key.
    """
    from ..errors import MtlsgenError
    from ..reports.kubernetes import ISSUER_NEEDS_KEY, ExportOptions, manifests, render

    if issuer and not include_ca_key:  # before the spec is read: the answer does not depend on it
        raise MtlsgenError(ISSUER_NEEDS_KEY)
    options = ExportOptions(entries, namespace, name_prefix, include_ca_key, issuer)
    click.echo(render(manifests(load(spec), options)), nl=False)


@export.command("schema", short_help="Write pki.schema.json into DIR, for a modeline `$schema=pki.schema.json`.")
@click.argument("folder", metavar="DIR", default=".", type=click.Path(path_type=Path, file_okay=False))
@user_errors
def schema(folder: Path) -> None:
    """Write the spec's JSON Schema as DIR/pki.schema.json (default: the current folder).

    Beside a shared spec, `# yaml-language-server: $schema=pki.schema.json` then resolves for everyone
    who clones it. The file is what `mtlsgen schema` prints; an existing copy is replaced.
    """
    from ..errors import MtlsgenError
    from .starter import SCHEMA_PATH

    target = folder / SCHEMA_PATH.name
    try:
        target.write_bytes(SCHEMA_PATH.read_bytes())
    except OSError as exc:
        raise MtlsgenError(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"wrote {target}")
