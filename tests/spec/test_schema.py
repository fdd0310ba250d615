"""`mtlsgen schema` is what editors validate spec files with; schema/pki.schema.json must be its output."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


# --- editor help: descriptions everywhere, shipped in the package, a modeline that resolves ---------------

PACKAGED = REPO / "mtlsgen" / "spec" / "pki.schema.json"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"(top).{name}", prop) for name, prop in schema["properties"].items()]
    for model, definition in schema["$defs"].items():
        found += [(f"{model}.{name}", prop) for name, prop in definition.get("properties", {}).items()]
    return found


def test_every_property_has_a_description(schema: dict[str, Any]) -> None:
    missing = [where for where, prop in _properties(schema) if not prop.get("description")]
    assert not missing, f"no description: {missing}"
    assert len(_properties(schema)) > 50


def test_schema_has_an_id_and_shows_defaults_and_enums(schema: dict[str, Any]) -> None:
    assert schema["$id"].startswith("https://") and schema["$id"].endswith("/pki.schema.json")
    store = schema["$defs"]["Store"]["properties"]
    assert store["profile"]["default"] == "modern"
    assert store["profile"]["enum"] == ["modern", "legacy", "Modern2023", "LegacyDES"]
    assert store["formats"]["default"] == ["pkcs12"]
    assert schema["properties"]["output"]["default"] == "certs"


def test_the_package_ships_the_committed_schema() -> None:
    assert PACKAGED.read_bytes() == SCHEMA_FILE.read_bytes(), "cp schema/pki.schema.json mtlsgen/spec/"


def _validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema", reason="the test extra brings jsonschema")
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(committed)
    return jsonschema.Draft202012Validator(committed)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_against_the_schema(example: Any) -> None:
    import yaml

    errors = [e.message for e in _validator().iter_errors(yaml.safe_load(example.read_text(encoding="utf-8")))]
    assert not errors, errors


def test_the_validator_flags_what_the_loader_refuses() -> None:
    bad = {"version": 1, "servers": {"api": {"validty": "90d", "keystore": {"profile": "LegacyRC2"}}}}
    messages = " ".join(e.message for e in _validator().iter_errors(bad))
    assert "validty" in messages and "LegacyRC2" in messages


def test_init_starter_has_a_modeline_that_resolves_to_the_schema(tmp_path: Any) -> None:
    import yaml

    from mtlsgen.cli.starter import MODELINE_PREFIX
    from tests.helpers.common import run_cli

    spec = tmp_path / "pki.yaml"
    assert run_cli("init", spec).returncode == 0
    first = spec.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE_PREFIX)
    target = first.removeprefix(MODELINE_PREFIX)
    assert target.startswith("file://")
    resolved = Path(target.removeprefix("file://"))
    assert resolved.is_file() and json.loads(resolved.read_text(encoding="utf-8")) == json.loads(
        SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = [e.message for e in _validator().iter_errors(yaml.safe_load(spec.read_text(encoding="utf-8")))]
    assert not errors, errors


def test_export_schema_writes_the_schema_beside_a_shared_spec(tmp_path: Any) -> None:
    from tests.helpers.common import run_cli

    result = run_cli("export", "schema", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pki.schema.json").read_bytes() == SCHEMA_FILE.read_bytes()
