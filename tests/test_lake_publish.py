"""Writes are atomic and validated: a partition that fails its contract is never published,
and the previously published partition stays where readers look."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from platform_assets.lake.assets import _publish
from platform_assets.lake.quality import CleanOrders
from platform_assets.lake.storage import clean_path, quarantine_path, staged_parquet
from platform_assets.lake.transforms import CleanResult
from platform_assets.resources import LakeStorage
from platform_assets.sources.specs import SOURCES

DAY = date(2026, 3, 2)
T = datetime(2026, 3, 2, 10, tzinfo=UTC)


def orders(*ids: str) -> pl.DataFrame:
    rows = [
        {
            "_source_file": "orders.csv",
            "_ingested_at": T,
            "_delivery_date": DAY,
            "order_id": i,
            "user_id": "u1",
            "status": "paid",
            "amount": 1.0,
            "currency": "EUR",
            "created_at": T,
            "updated_at": T,
            "updated_date": DAY,
        }
        for i in ids
    ]
    schema = CleanOrders.to_schema().dtypes
    return pl.DataFrame(rows).cast({k: v.type for k, v in schema.items()})


def result(clean: pl.DataFrame) -> CleanResult:
    quarantine = pl.DataFrame(schema={"_record": pl.Utf8, "_reason": pl.Utf8})
    return CleanResult(clean=clean, quarantine=quarantine, received=clean.height, duplicates=0)


def test_a_valid_partition_is_published(tmp_path):
    lake = LakeStorage(landing_root=str(tmp_path), lake_root=str(tmp_path))
    assert _publish(result(orders("o1", "o2")), lake, SOURCES["orders"], DAY) is None
    assert pl.read_parquet(clean_path(str(tmp_path), "orders", DAY)).height == 2
    assert quarantine_path(str(tmp_path), "orders", DAY).exists()


def test_a_partition_failing_its_contract_is_not_published(tmp_path):
    lake = LakeStorage(landing_root=str(tmp_path), lake_root=str(tmp_path))
    _publish(result(orders("o1")), lake, SOURCES["orders"], DAY)
    failure = _publish(result(orders("o2", "o2")), lake, SOURCES["orders"], DAY)  # duplicate key
    assert failure is not None and "uniqueness" in failure
    published = pl.read_parquet(clean_path(str(tmp_path), "orders", DAY))
    assert published.get_column("order_id").to_list() == ["o1"]
    assert [p.name for p in clean_path(str(tmp_path), "orders", DAY).parent.iterdir()] == [
        "data.parquet"
    ]


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    final = tmp_path / "date=2026-03-02" / "data.parquet"
    with pytest.raises(RuntimeError), staged_parquet(pl.DataFrame({"a": [1]}), final):
        raise RuntimeError("killed mid-publish")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []
