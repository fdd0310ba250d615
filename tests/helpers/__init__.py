"""Helpers shared by the test modules, imported as `from tests.helpers.<module> import …`.

common: the CLI as a real subprocess, spec lines, one-line errors, key comparison, a small spec.
engine: output-folder snapshots, certificates read back, `openssl verify`, the sample specs.
tls:    one real TLS connection on 127.0.0.1 between two ssl contexts.
"""
