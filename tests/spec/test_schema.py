"""`mtlsgen schema` is what editors validate spec files with; schema/pki.schema.json must be its output."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from mtlsgen.cli import main
from tests.helpers.common import REPO

SCHEMA_FILE = REPO / "schema" / "pki.schema.json"
KEY_TYPES = ["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384", "ed25519"]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _optional(prop: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an `X | None` property."""
    branches = [b for b in prop.get("anyOf", [prop]) if b != {"type": "null"}]
    assert len(branches) == 1
    return branches[0]


def test_committed_schema_is_the_command_output(schema: dict[str, Any]) -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == schema, "run: mtlsgen schema > schema/pki.schema.json"


def test_schema_is_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"


def test_top_level_is_closed_and_needs_version(schema: dict[str, Any]) -> None:
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["version"]
    assert schema["properties"]["version"]["const"] == 1
    assert set(schema["properties"]) == {"version", "output", "defaults", "ca", "intermediates", "servers",
                                         "clients"}


def test_every_object_is_closed(schema: dict[str, Any]) -> None:
    # unknown keys are errors in the loader, so editors must flag them too
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, name


def test_key_enum_lists_the_six_key_types(schema: dict[str, Any]) -> None:
    for model in ("Defaults", "Ca", "Intermediate", "Leaf"):
        assert _optional(schema["$defs"][model]["properties"]["key"])["enum"] == KEY_TYPES


def test_ca_import_uses_its_yaml_name(schema: dict[str, Any]) -> None:
    assert "import" in schema["$defs"]["Ca"]["properties"]
    assert "import_" not in schema["$defs"]["Ca"]["properties"]


def test_sections_map_names_to_entries(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    assert props["servers"]["additionalProperties"] == {"$ref": "#/$defs/Leaf"}
    assert props["clients"]["additionalProperties"] == {"$ref": "#/$defs/Leaf"}
    assert props["intermediates"]["additionalProperties"] == {"$ref": "#/$defs/Intermediate"}


@pytest.mark.parametrize(("field", "good", "bad"), [
    ("validity", ["12h", "90d", "2w", "10y"], ["90", "90 days", "0d", "-1d"]),
    ("renew_before", ["30d", "33%", "12.5%"], ["30", "30 days", "%"]),
])
def test_duration_patterns_agree_with_the_loader(schema: dict[str, Any], field: str, good: list[str],
                                                 bad: list[str]) -> None:
    pattern = _optional(schema["$defs"]["Leaf"]["properties"][field])["pattern"]
    for text in good:
        assert re.search(pattern, text), text
    for text in bad:
        assert not re.search(pattern, text), text


def test_country_pattern(schema: dict[str, Any]) -> None:
    pattern = _optional(schema["$defs"]["Subject"]["properties"]["C"])["pattern"]
    assert re.search(pattern, "US") and not re.search(pattern, "us") and not re.search(pattern, "USA")


def test_password_source_shapes(schema: dict[str, Any]) -> None:
    source = _optional(schema["$defs"]["Store"]["properties"]["password"])
    text = json.dumps(source)
    for ref in ("EnvPassword", "FilePassword", "GeneratePassword"):
        assert f"#/$defs/{ref}" in text
    assert schema["$defs"]["GeneratePassword"]["properties"]["generate"]["const"] is True


def test_schema_output_is_stable() -> None:
    first = CliRunner().invoke(main, ["schema"]).stdout
    second = CliRunner().invoke(main, ["schema"]).stdout
    assert first == second
    assert first == SCHEMA_FILE.read_text(encoding="utf-8")
