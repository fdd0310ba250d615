"""Safe YAML loading that keeps line numbers and refuses what YAML silently accepts.

PyYAML's loaders drop positions and keep the last of duplicate keys, and expanding aliases
without a bound lets a "billion laughs" document eat all memory. We compose the node tree
(aliases stay shared nodes, so composing is cheap) and build plain Python values ourselves,
counting every node visited and the depth, and recording the line of every path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .files import FileProblem, read_regular

PathKey = tuple[str | int, ...]

MAX_NODES = 100_000  # far beyond any real spec, small enough to fail in milliseconds
MAX_DEPTH = 32
MAX_BYTES = 4 * 1024 * 1024


class Source:
    """A loaded YAML document: its value and the 1-based line of every path in it."""

    def __init__(self, path: Path, value: Any, lines: dict[PathKey, int]) -> None:
        self.path = path
        self.value = value
        self.lines = lines

    def line_of(self, path: PathKey) -> int:
        """The line of the longest prefix of `path` that exists in the document."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def error(self, path: PathKey, reason: str) -> SpecError:
        where = f"{self.path.name}:{self.line_of(path)}"
        field = format_path(path)
        return SpecError(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops at absurd flow nesting: PyYAML scans `[[[[...` in quadratic time."""

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(
                problem=f"nesting deeper than {MAX_DEPTH} levels; refusing to load it",
                problem_mark=self.get_mark())
        super().fetch_flow_collection_start(token_class)


class _Builder:
    def __init__(self, source_name: str) -> None:
        self.name = source_name
        self.loader = yaml.SafeLoader("")
        self.visited = 0
        self.lines: dict[PathKey, int] = {}

    def fail(self, node: yaml.Node, reason: str) -> SpecError:
        return SpecError(f"{self.name}:{node.start_mark.line + 1}: {reason}")

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.fail(node, f"the document expands to more than {MAX_NODES} values "
                                  "(aliases nested too deep?); refusing to load it")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def build_mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.fail(key_node, "a merge key (<<) needs a mapping")
                    # through build(), so every merge counts against MAX_NODES and MAX_DEPTH
                    for k, v in self.build(source, path, depth + 1).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain strings")
            key = str(key_node.value)  # keys are names: `123:` or `on:` mean the text, not a number or bool
            if key in result:
                field = format_path((*path, key))
                first = self.lines.get((*path, key), 0)
                raise self.fail(key_node, f"{field}: duplicate key (first set on line {first}); "
                                          "YAML would silently keep only the last one")
            key_path: PathKey = (*path, key)
            self.lines[key_path] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, key_path, depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def load_yaml(path: Path) -> Source:
    """Read and parse `path`; every failure is a SpecError naming the file and line."""
    try:
        raw = read_regular(path, limit=MAX_BYTES)
    except FileProblem as exc:
        if str(exc) == "does not exist":
            raise SpecError(f"{path}: no such file (run `mtlsgen init {path}` to create one)") from None
        raise SpecError(f"{path}: the spec {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(f"{path.name}:{line}: not UTF-8 text") from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> Source:
    """Parse `text` as the spec file `path` (named in errors; not read)."""
    builder = _Builder(path.name)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            reason += f" ({exc.context} started on line {exc.context_mark.line + 1})"  # an unclosed [ or {
        raise SpecError(f"{path.name}:{line}: invalid YAML: {reason}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name}:1: invalid YAML: {exc}") from exc
    except RecursionError:  # the composer recurses once per level: `[[[[...]]]]` thousands deep
        raise SpecError(f"{path.name}:1: nesting too deep; refusing to load it") from None
    if node is None:
        raise SpecError(f"{path.name}:1: the file is empty; it needs at least `version: 1`")
    try:
        value = builder.build(node, (), 0)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 1
        raise SpecError(f"{path.name}:{line}: invalid YAML value: {exc.problem}") from exc
    except RecursionError:
        raise SpecError(f"{path.name}:1: nesting too deep; refusing to load it") from None
    return Source(path, value, builder.lines)
