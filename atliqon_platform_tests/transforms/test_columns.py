"""On the real build: every silver and gold column the lake holds says what it means, and every gold
column says which upstream columns it is made of, back to silver."""

from dagster import AssetKey
from deltalake import DeltaTable

from atliqon_platform.definitions import defs
from atliqon_platform.resources.delta_lake import month_column

SPECS = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
SILVER_AND_GOLD = [key for key in SPECS if key.path[0] in ("silver", "gold")]
GOLD = [key for key in SILVER_AND_GOLD if key.path[0] == "gold"]


def written_columns(real_platform, key: AssetKey) -> list[str]:
    """The table's columns, without the month column the storage layer adds to lay it out."""
    table = DeltaTable(str(real_platform["home"] / "lake" / "/".join(key.path)))
    names = table.to_pyarrow_dataset().schema.names
    return [name for name in names if not any(name == month_column(other) for other in names)]


def test_every_silver_and_gold_column_has_a_description(real_platform):
    documented = 0
    for key in SILVER_AND_GOLD:
        schema = real_platform["metadata"][key.to_user_string()]["dagster/column_schema"].value
        assert [column.name for column in schema.columns] == written_columns(real_platform, key), key
        assert [column.name for column in schema.columns if not column.description] == [], key
        documented += len(schema.columns)
    assert documented >= 123


def test_every_gold_column_has_lineage_back_to_silver_columns(real_platform):
    metadata = real_platform["metadata"]
    lineage = {key: metadata[key.to_user_string()]["dagster/column_lineage"].value for key in GOLD}
    for key, columns in lineage.items():
        assert sorted(columns.deps_by_column) == sorted(written_columns(real_platform, key)), key
        upstream = {dep.asset_key for dep in SPECS[key].deps}
        for column, deps in columns.deps_by_column.items():
            assert deps, (key, column)
            for dep in deps:
                assert dep.asset_key in upstream, (key, column, dep)
                assert dep.column_name in written_columns(real_platform, dep.asset_key), (key, column, dep)

    def silver_sources(key: AssetKey, column: str) -> set[tuple[str, str]]:
        if key.path[0] == "silver":
            return {(key.to_user_string(), column)}
        deps = lineage[key].deps_by_column[column]
        return set().union(*(silver_sources(dep.asset_key, dep.column_name) for dep in deps))

    for key, columns in lineage.items():
        for column in columns.deps_by_column:
            assert silver_sources(key, column), (key, column)
    assert silver_sources(AssetKey(["gold", "vw_fact_orders_enriched"]), "customer_code") == {
        ("silver/parent_fact_orders", "customer_code"),
        ("silver/orders", "customer_id"),
    }
