"""docs/schemas.md is current (regenerate with `harmony docs schemas`) and covers every topic and
every field; its examples are valid records."""
from __future__ import annotations

from schemas import catalog
from streams.kafka.topics import TOPICS
from streams.reports.schema_docs import PAGE, RECORDS, example, render


def test_schema_page_is_current():
    assert PAGE.exists(), "docs/schemas.md missing: run `harmony docs schemas`"
    assert PAGE.read_text(encoding="utf-8") == render(), "docs/schemas.md is out of date: run `harmony docs schemas`"


def test_every_topic_and_field_is_documented():
    page = render()
    schemas = catalog.load()
    for spec in TOPICS:
        assert f"## `{spec.name}`" in page, spec.name
        rec = RECORDS.get(spec.attr)
        if rec in schemas:
            for f in schemas[rec].raw["fields"]:
                assert f"| `{f['name']}` |" in page, (rec, f["name"])
                assert f.get("doc"), f"{rec}.{f['name']} has no doc"
            assert example(spec.attr, rec)
