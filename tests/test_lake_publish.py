"""A clean partition is built in batches, validated, and published atomically: a partition that
fails its contract is never published, and the previously published one stays where readers
look. The streamed build gives the same partition as the in-memory rules."""

import threading
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest

import platform_assets.lake.partition as partition
from platform_assets.lake.assets import clean_asset
from platform_assets.lake.landing import read_delivery
from platform_assets.lake.partition import build_partition, contract_failures
from platform_assets.lake.quality import CleanOrders
from platform_assets.lake.storage import clean_path, quarantine_path, raw_path, staged_parquet
from platform_assets.lake.transforms import clean_partition
from platform_assets.resources import LakeStorage, PiiHasher
from platform_assets.sources.specs import SOURCES

DAY = date(2026, 3, 2)
T = datetime(2026, 3, 2, 10, tzinfo=UTC)
HEADER = "order_id,user_id,status,amount,currency,created_at,updated_at\n"


def order_line(order_id: str, status: str = "paid", amount: str = "1.00", at: str = "10") -> str:
    return f"{order_id},u1,{status},{amount},EUR,2026-03-02T10:00:00Z,2026-03-02T{at}:00:00Z\n"


def raw_orders(tmp_path, *lines: str, day: date = DAY) -> list:
    """Land an orders.csv delivery for `day` and ingest it as raw; the raw file's path."""
    folder = tmp_path / "landing" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(HEADER + "".join(lines))
    raw = read_delivery([folder / "orders.csv"], SOURCES["orders"], day, T)
    path = raw_path(str(tmp_path / "lake"), "orders", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.write_parquet(path)
    return [path]


def build(tmp_path, raw: list, **options):
    lake = str(tmp_path / "lake")
    return build_partition(
        raw,
        SOURCES["orders"],
        DAY,
        lateness_days=2,
        pii_key="k",
        clean=clean_path(lake, "orders", DAY),
        quarantine=quarantine_path(lake, "orders", DAY),
        **options,
    )


def published(tmp_path) -> list[str]:
    return pl.read_parquet(clean_path(str(tmp_path / "lake"), "orders", DAY))["order_id"].to_list()


def test_a_valid_partition_is_published_with_its_quarantine(tmp_path):
    raw = raw_orders(tmp_path, order_line("o1"), order_line("o2"), order_line("o3", "lost"))
    result = build(tmp_path, raw)
    assert result.failure is None
    assert published(tmp_path) == ["o1", "o2"]
    assert result.counts == {
        "rows_received": 3,
        "rows_clean": 2,
        "rows_quarantined": 1,
        "duplicates_dropped": 0,
    }
    quarantine = pl.read_parquet(quarantine_path(str(tmp_path / "lake"), "orders", DAY))
    assert quarantine["_reason"].str.starts_with("check_failed:status:isin").to_list() == [True]
    assert not list((tmp_path / "lake" / ".work").iterdir())  # scratch parts are gone


def test_many_batches_give_the_same_partition_as_the_in_memory_rules(tmp_path, monkeypatch):
    lines = [order_line(f"o{i % 7}", at=f"{10 + i % 3}") for i in range(40)]
    lines += [order_line("bad", amount="-1")]
    raw = raw_orders(tmp_path, *lines)
    monkeypatch.setattr(partition, "BATCH_ROWS", 6)  # 7 batches; duplicates span batches
    result = build(tmp_path, raw)
    expected = clean_partition(
        pl.read_parquet(raw[0]), SOURCES["orders"], DAY, lateness_days=2, pii_key="k"
    )
    streamed = pl.read_parquet(clean_path(str(tmp_path / "lake"), "orders", DAY))
    assert streamed.equals(expected.clean)
    assert (result.duplicates, result.quarantined) == (expected.duplicates, 1)
    assert result.clean == 21  # 7 orders x 3 versions


def test_a_partition_failing_its_contract_is_not_published(tmp_path, monkeypatch):
    build(tmp_path, raw_orders(tmp_path, order_line("o1")))
    quarantine = quarantine_path(str(tmp_path / "lake"), "orders", DAY)
    assert pl.read_parquet(quarantine).height == 0
    monkeypatch.setattr(partition, "contract_failures", lambda path, spec: "amount: broken")
    result = build(
        tmp_path, raw_orders(tmp_path, order_line("o2"), order_line("o3", status="lost"), day=DAY)
    )
    assert (result.failure, result.quarantined) == ("amount: broken", 1)
    assert published(tmp_path) == ["o1"]
    # nor its quarantine: the published pair stays the earlier run's, whose counts balance
    assert pl.read_parquet(quarantine).height == 0
    assert [p.name for p in clean_path(str(tmp_path / "lake"), "orders", DAY).parent.iterdir()] == [
        "data.parquet"
    ]


def test_a_day_failing_its_contract_fails_the_run_at_once_naming_what_was_published(
    tmp_path, monkeypatch
):
    """Each day of a range is published once it passes. When a later day fails, the same rows
    would fail again: no step retry. The days published before it get no materialization, so
    the failure holds their counts."""
    next_day = DAY + timedelta(days=1)
    raw_orders(tmp_path, order_line("o1"), order_line("o2", status="lost"))
    raw_orders(tmp_path, day=next_day)  # a delivery with no order of its own day
    failing = f"date={next_day}"  # the day's scratch folder: <lake>/.work/orders-date=.../
    monkeypatch.setattr(
        partition,
        "contract_failures",
        lambda path, spec: "amount: broken" if failing in str(path) else None,
    )
    result = dg.materialize(
        [clean_asset(SOURCES["orders"], lateness_days=2)],
        resources={
            "lake": LakeStorage(
                landing_root=str(tmp_path / "landing"), lake_root=str(tmp_path / "lake")
            ),
            "pii": PiiHasher(key="k"),
        },
        tags={
            "dagster/asset_partition_range_start": DAY.isoformat(),
            "dagster/asset_partition_range_end": next_day.isoformat(),
        },
        raise_on_error=False,
    )
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not result.get_asset_materialization_events()
    [failure] = result.get_step_failure_events()
    data = failure.step_failure_data.user_failure_data
    assert data.description == (
        f"clean_orders {next_day} failed its contract; {next_day} not published. Published "
        f"before it: {DAY} (counts in this failure's metadata; a run of the range records "
        "them on a materialization)."
    )
    assert data.metadata["published_before_failure"].value.splitlines()[2] == (
        f"| {DAY} | 2 | 1 | 1 | 0 |"
    )
    assert published(tmp_path) == ["o1"]
    assert not clean_path(str(tmp_path / "lake"), "orders", next_day).exists()


def staged_orders(tmp_path, *order_ids: str):
    """A staged clean orders file with one row per id (same updated_at: an id twice is a
    duplicate key)."""
    row = {
        "_source_file": "orders.csv",
        "_ingested_at": T,
        "_delivery_date": DAY,
        "user_id": "u1",
        "status": "paid",
        "amount": 1.0,
        "currency": "EUR",
        "created_at": T,
        "updated_at": T,
        "updated_date": DAY,
    }
    schema = {k: v.type for k, v in CleanOrders.to_schema().dtypes.items()}
    path = tmp_path / "staged.parquet"
    frame = pl.DataFrame([{**row, "order_id": order_id} for order_id in order_ids])
    frame.cast(schema).select(list(schema)).write_parquet(path)
    return path


def test_an_error_in_any_batch_fails_the_build_and_publishes_nothing(tmp_path, monkeypatch):
    raw = raw_orders(tmp_path, *[order_line(f"o{i}") for i in range(12)])
    monkeypatch.setattr(partition, "BATCH_ROWS", 2)  # 6 batches, screened two at a time
    screen = partition.screen

    def failing_on_the_fourth(batch, *args, **kwargs):
        if "o6" in batch["order_id"].to_list():
            raise RuntimeError("screening failed")
        return screen(batch, *args, **kwargs)

    monkeypatch.setattr(partition, "screen", failing_on_the_fourth)
    threads = threading.active_count()
    with pytest.raises(RuntimeError, match="screening failed"):
        build(tmp_path, raw)
    assert not clean_path(str(tmp_path / "lake"), "orders", DAY).exists()
    assert not list((tmp_path / "lake" / ".work").iterdir())
    assert threading.active_count() == threads  # the screening and writing threads are gone


def test_the_contract_catches_a_duplicate_key(tmp_path):
    path = staged_orders(tmp_path, "o1", "o2", "o3", "o1")
    failure = contract_failures(path, SOURCES["orders"])
    assert failure == "order_id, updated_at: multiple_fields_uniqueness (1 rows)"


def test_the_contract_reads_every_value_of_the_staged_file(tmp_path):
    path = staged_orders(tmp_path, "o1", "o2", "o3", "o4")
    broken = pl.read_parquet(path).with_columns(
        pl.Series("amount", [1.0, -2.0, -3.0, 4.0]),
        pl.Series("status", ["paid", "lost", "paid", "paid"]),
        pl.Series("user_id", ["u1", "u1", None, "u1"]),
        pl.Series("created_at", [T, T, T, T + timedelta(hours=1)]),  # after its update
    )
    broken.write_parquet(path)
    failure = contract_failures(path, SOURCES["orders"])
    assert failure == (
        "CleanOrders: updated_at must not be before created_at (1 rows); "
        "amount: greater_than_or_equal_to(0) (2 rows); status: isin(['created', 'paid', "
        "'shipped', 'delivered', 'cancelled', 'refunded']) (1 rows); "
        "user_id: not_nullable (1 rows)"
    )


def test_a_broken_rule_reports_a_bounded_number_of_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(partition, "FAILURE_CASES", 2)
    path = staged_orders(tmp_path, "o1", "o2", "o3")
    pl.read_parquet(path).with_columns(amount=pl.lit(-1.0)).write_parquet(path)
    failure = contract_failures(path, SOURCES["orders"])
    assert failure == "amount: greater_than_or_equal_to(0) (at least 2 rows)"


@pytest.mark.parametrize("column", ["currency", "order_id"])
def test_the_contract_names_a_missing_column(tmp_path, column):
    path = staged_orders(tmp_path, "o1")
    pl.read_parquet(path).drop(column).write_parquet(path)
    failure = contract_failures(path, SOURCES["orders"])
    assert failure == f"CleanOrders: column_in_dataframe: {column} (1 rows)"


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    final = tmp_path / "date=2026-03-02" / "data.parquet"
    with pytest.raises(RuntimeError), staged_parquet(pl.DataFrame({"a": [1]}), final):
        raise RuntimeError("killed mid-publish")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []
