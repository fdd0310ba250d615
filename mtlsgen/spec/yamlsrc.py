"""Safe YAML loading that keeps line numbers and refuses what YAML silently accepts.

PyYAML's loaders drop positions and keep the last of duplicate keys, and expanding aliases
without a bound lets a "billion laughs" document eat all memory. We compose the node tree
(aliases stay shared nodes, so composing is cheap) and build plain Python values ourselves,
counting every node visited and the depth, and recording the line of every path.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .files import FileProblem, read_regular
from .names import control_character

PathKey = tuple[str | int, ...]

MAX_NODES = 100_000  # far beyond any real spec, small enough to fail in milliseconds
MAX_DEPTH = 32
MAX_BYTES = 4 * 1024 * 1024

# Characters YAML refuses (C0 but tab and line ends, DEL, C1, U+FFFE/FFFF), and three it reads as line
# breaks where an editor shows none (NEL U+0085, LINE SEPARATOR U+2028, PARAGRAPH SEPARATOR U+2029): one
# of those ends a comment or starts a key that the editor shows inside the line before. Found before
# parsing, so the error names the line; PyYAML's own error counts from the start and spans two lines.
# Written as the refused set, not as the complement of YAML's allowed one: the same characters, but a
# negated class spanning U+10FFFF costs re ~15-40 ms to compile on every start (this one, under 1 ms).
_NOT_YAML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_HIDDEN_BREAKS = {"\x85": "NEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")  # lines as editors number them


class Source:
    """A loaded YAML document: its value and the 1-based line of every path in it."""

    def __init__(self, path: Path, value: Any, lines: dict[PathKey, int]) -> None:
        self.path = path
        self.name = shown(path.name)
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
        where = f"{self.name}:{self.line_of(path)}"
        field = format_path(path)
        return SpecError(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = shown(part)
            out += f".{text}" if out else text
    return out


def shown(text: str) -> str:
    """`text` as an error message may hold it: quoted and escaped when it has a control or another
    character that does not print (a key or a file name with a newline would break the one line)."""
    return text if text.isprintable() else repr(text)


class Lines:
    """The 1-based line of a position in a text, as an editor numbers lines (CRLF, LF or CR)."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]

    def at(self, position: int) -> int:
        return bisect_right(self.starts, position)

    def of(self, mark: yaml.Mark | None) -> int:
        return self.at(mark.index) if mark is not None else 1


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops at absurd flow nesting: PyYAML scans `[[[[...` in quadratic time."""

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(
                problem=f"nesting deeper than {MAX_DEPTH} levels; refusing to load it",
                problem_mark=self.get_mark())
        super().fetch_flow_collection_start(token_class)


class _Builder:
    def __init__(self, source_name: str, lines: Lines) -> None:
        self.name = source_name
        self.numbering = lines
        self.loader = yaml.SafeLoader("")
        self.visited = 0
        self.lines: dict[PathKey, int] = {}

    def fail(self, node: yaml.Node, reason: str) -> SpecError:
        return SpecError(f"{self.name}:{self.numbering.of(node.start_mark)}: {reason}")

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.fail(node, f"the document expands to more than {MAX_NODES} values "
                                  "(aliases nested too deep?); refusing to load it")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")
        self.lines.setdefault(path, self.numbering.of(node.start_mark))
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
            self.lines[key_path] = self.numbering.of(key_node.start_mark)
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
            raise SpecError(f"{shown(str(path))}: no such file (run `mtlsgen init {shown(str(path))}` to "
                            "create one)") from None
        raise SpecError(f"{shown(str(path))}: the spec {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        line = Lines(before).at(len(before))
        raise SpecError(f"{shown(path.name)}:{line}: not UTF-8 text") from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> Source:
    """Parse `text` as the spec file `path` (named in errors; not read)."""
    name = shown(path.name)
    lines = Lines(text)
    builder = _Builder(name, lines)
    bad = _NOT_YAML.search(text)
    if bad is not None:
        line = lines.at(bad.start())
        column = bad.start() - max(text.rfind("\n", 0, bad.start()), text.rfind("\r", 0, bad.start()))
        char = bad.group()
        code = f"U+{ord(char):04X}"
        what = (f"a {_HIDDEN_BREAKS[char]} ({code}), which YAML reads as a line break no editor shows"
                if char in _HIDDEN_BREAKS else
                f"{'a control character' if control_character(char) else 'a character'} ({code}), "
                "which YAML does not allow")
        raise SpecError(f"{name}:{line}: invalid YAML: column {column} holds {what}; remove it")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        line = lines.of(exc.problem_mark or exc.context_mark)
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark and lines.of(exc.context_mark) != line:
            reason += f" ({exc.context} started on line {lines.of(exc.context_mark)})"  # an unclosed [ or {
        raise SpecError(f"{name}:{line}: invalid YAML: {reason}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML refuses, should one pass the check above
        raise SpecError(f"{name}:{lines.at(exc.position)}: invalid YAML: the character "
                        f"U+{exc.character:04X} is not allowed") from exc
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise SpecError(f"{name}:1: invalid YAML: {reason}") from exc
    except RecursionError:  # the composer recurses once per level: `[[[[...]]]]` thousands deep
        raise SpecError(f"{name}:1: nesting too deep; refusing to load it") from None
    if node is None:
        raise SpecError(f"{name}:1: the file is empty; it needs at least `version: 1`")
    try:
        value = builder.build(node, (), 0)
    except yaml.constructor.ConstructorError as exc:
        raise SpecError(f"{name}:{lines.of(exc.problem_mark)}: invalid YAML value: {exc.problem}") from exc
    except RecursionError:
        raise SpecError(f"{name}:1: nesting too deep; refusing to load it") from None
    return Source(path, value, builder.lines)
