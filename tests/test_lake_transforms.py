"""The lake's cleaning rules, on hand-made deliveries: typing, quarantine reasons, lateness,
dedup across deliveries, PII hashing, and the nothing-lost balance."""

import dataclasses
import gzip
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from platform_assets.lake.landing import extra_fields, read_delivery, write_delivery
from platform_assets.lake.transforms import clean_partition, keyed_hash
from platform_assets.sources.specs import SOURCES

DAY = date(2026, 3, 2)
INGESTED = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def event(event_id: str, when: str = "2026-03-02T10:00:00+01:00", **fields) -> dict:
    base = {
        "event_id": event_id,
        "user_id": "u1",
        "session_id": "s1",
        "app": "web",
        "event_type": "page_view",
        "event_time": when,
        "product_id": None,
        "price": None,
        "currency": None,
        "properties": {"path": "/"},
        "context": {"ip": "10.1.2.3", "user_agent": "UA", "locale": "en-GB"},
    }
    return {**base, **fields}


def deliver(folder: Path, name: str, lines: list[str], gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path = folder / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def clean_events(tmp_path: Path, deliveries: dict[date, list[str]], partition: date = DAY):
    frames = []
    for day, lines in deliveries.items():
        path = deliver(tmp_path / day.isoformat(), "events.jsonl", lines)
        frames.append(read_delivery([path], SOURCES["app_events"], day, INGESTED))
    raw = pl.concat(frames, how="diagonal_relaxed")
    return clean_partition(raw, SOURCES["app_events"], partition, lateness_days=2, pii_key="k")


def test_each_bad_line_is_quarantined_with_the_rule_it_broke(tmp_path):
    lines = [
        json.dumps(event("ok")),
        '{"event_id": "trunc',
        "",
        "[1, 2]",
        json.dumps(
            event("neg", price=-1.0, currency="EUR", product_id="p1", event_type="purchase")
        ),
        json.dumps(event("tele", event_type="teleport")),
        json.dumps(
            event("euro", price=1.0, currency="EURO", product_id="p1", event_type="purchase")
        ),
        json.dumps(event("when", when="yesterday")),
        json.dumps(event("nouser", user_id=None)),
        json.dumps(event("noprod", event_type="add_to_cart")),
        "null",
        '"just text"',
    ]
    result = clean_events(tmp_path, {DAY: lines})

    assert result.clean.get_column("event_id").to_list() == ["ok"]
    reasons = dict(
        zip(
            result.quarantine.get_column("_line_number").to_list(),
            result.quarantine.get_column("_reason").to_list(),
            strict=True,
        )
    )
    assert reasons[2] == "malformed_json"
    assert reasons[3] == "empty_line"
    assert reasons[4] == "not_a_json_object"
    assert "price" in reasons[5] and "greater_than_or_equal_to" in reasons[5]
    assert "event_type" in reasons[6] and "isin" in reasons[6]
    assert "currency" in reasons[7]
    assert reasons[8] == "invalid_value:event_time"
    assert "user_id" in reasons[9] and "not_nullable" in reasons[9]
    assert "product_id" in reasons[10]
    assert reasons[11] == reasons[12] == "not_a_json_object"
    assert result.quarantine.get_column("_record").null_count() == 0  # kept as delivered


@pytest.mark.parametrize(
    "malformed", [[], ['{"event_id": "trunc']], ids=["all_json", "one_malformed"]
)
def test_a_batch_decodes_the_same_whether_or_not_a_line_is_malformed(tmp_path, malformed):
    """A batch of JSON lines is decoded in one pass; one malformed line makes it check each
    line first. Both give the same rows and reasons."""
    lines = [
        json.dumps(event("ok")),
        "[1, 2]",
        "null",
        '  {"event_id": "spaced", "user_id": "u1"}',
        json.dumps(event("mail", properties={"email": " A@x.io ", "path": "/"})),
    ]
    result = clean_events(tmp_path, {DAY: lines + malformed})

    assert result.clean.get_column("event_id").to_list() == ["ok", "mail"]
    assert (
        result.clean.filter(pl.col("event_id") == "mail").item(0, "email_hash")
        == keyed_hash(pl.Series(["a@x.io"]), "k").item()
    )
    reasons = result.quarantine.sort("_line_number").get_column("_reason").to_list()
    spaced = [r for r in reasons if r not in ("not_a_json_object", "malformed_json")]
    assert reasons[:2] == ["not_a_json_object", "not_a_json_object"]
    assert len(spaced) == 1 and "app" in spaced[0]  # an object, checked by the rules
    assert reasons[3:] == (["malformed_json"] if malformed else [])


def test_nothing_is_lost(tmp_path):
    lines = [json.dumps(event(f"e{i}")) for i in range(5)] + ["garbage", json.dumps(event("e0"))]
    result = clean_events(tmp_path, {DAY: lines})
    assert result.counts == {
        "rows_received": 7,
        "rows_clean": 5,
        "rows_quarantined": 1,
        "duplicates_dropped": 1,
    }


def test_late_events_land_in_the_day_they_happened(tmp_path):
    late = json.dumps(event("late", when="2026-03-02T23:30:00+00:00"))
    on_time_next_day = json.dumps(event("next", when="2026-03-03T08:00:00+00:00"))
    deliveries = {DAY: [json.dumps(event("a"))], date(2026, 3, 4): [late, on_time_next_day]}
    result = clean_events(tmp_path, deliveries)
    assert sorted(result.clean.get_column("event_id").to_list()) == ["a", "late"]
    assert result.clean.get_column("event_date").unique().to_list() == [DAY]


def test_events_later_than_the_allowed_lateness_are_quarantined_as_too_late(tmp_path):
    too_late = json.dumps(event("old", when="2026-02-27T12:00:00+00:00"))
    result = clean_events(tmp_path, {DAY: [too_late, json.dumps(event("a"))]})
    assert result.quarantine.get_column("_reason").to_list() == ["too_late"]
    assert result.received == 2


def test_an_event_before_the_first_partition_is_quarantined_by_its_delivery_day(tmp_path):
    """Delivered on the first day with an event time on the day before (within the lateness):
    it was owned by 2025-12-31, which no partition is, so no clean build counted it at all."""
    first = date(2026, 1, 1)
    lines = [
        json.dumps(event("before", when="2025-12-31T23:00:00Z")),
        json.dumps(event("a", when="2026-01-01T08:00:00Z")),
    ]
    result = clean_events(tmp_path, {first: lines}, partition=first)
    assert result.quarantine.get_column("_reason").to_list() == ["before_first_partition"]
    assert '"before"' in result.quarantine.get_column("_record")[0]
    assert result.received == 2


def test_offsets_are_normalised_to_utc_before_choosing_the_day(tmp_path):
    # 00:30 at +02:00 is still the previous day in UTC
    result = clean_events(
        tmp_path, {DAY: [json.dumps(event("x", when="2026-03-03T00:30:00+02:00"))]}
    )
    assert result.clean.get_column("event_time").to_list() == [
        datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    ]


def test_a_leap_second_stays_in_its_minute_and_day(tmp_path):
    """23:59:60 (RFC 3339 allows it) is the minute's last microsecond, not the next day."""
    lines = [
        json.dumps(event("leap", when="2026-03-02T23:59:60Z")),
        json.dumps(event("local", when="2026-03-03T00:59:60.5+01:00")),
        json.dumps(event("spaced", when="2026-03-02 23:59:60Z")),  # RFC 3339 allows a space
        json.dumps(event("lower", when="2026-03-02t23:59:60z")),  # and lower case
    ]
    result = clean_events(tmp_path, {DAY: lines})
    last = datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert result.clean.get_column("event_time").to_list() == [last] * 4


def test_redelivered_file_keeps_the_first_received_copy(tmp_path):
    lines = [json.dumps(event("a")), json.dumps(event("b"))]
    result = clean_events(tmp_path, {DAY: lines, date(2026, 3, 3): lines})
    assert result.clean.height == 2
    assert result.duplicates == 2
    assert result.clean.get_column("_delivery_date").unique().to_list() == [DAY]


def test_pii_is_replaced_by_keyed_hashes(tmp_path):
    signup = event("s", event_type="signup", properties={"email": "Ana@Example.com", "ref": "ad"})
    result = clean_events(tmp_path, {DAY: [json.dumps(signup)]})
    row = result.clean.row(0, named=True)
    assert row["email_hash"] == keyed_hash(pl.Series(["ana@example.com"]), "k")[0]
    assert row["ip_hash"] == keyed_hash(pl.Series(["10.1.2.3"]), "k")[0]
    assert json.loads(row["properties"]) == {"ref": "ad"}
    assert "Example.com" not in str(result.clean.to_dicts())
    assert "10.1.2.3" not in str(result.clean.to_dicts())
    assert "context" not in result.clean.columns


def test_pii_written_with_escapes_or_in_odd_shapes_is_still_found(tmp_path):
    escaped = '{"\\u0065mail": "Bo@Example.com", "ref": "ad"}'  # the key "email", escaped
    line = json.dumps(event("e", event_type="signup", properties={}))
    line = line.replace('"properties": {}', f'"properties": {escaped}')
    odd_properties = json.dumps(event("p", properties="email"))  # not an object: quarantined
    result = clean_events(tmp_path, {DAY: [line, odd_properties]})
    rows = {row["event_id"]: row for row in result.clean.to_dicts()}
    assert rows["e"]["email_hash"] == keyed_hash(pl.Series(["bo@example.com"]), "k")[0]
    assert json.loads(rows["e"]["properties"]) == {"ref": "ad"}
    assert result.quarantine["_reason"].to_list() == ["invalid_value:properties"]
    assert "Example.com" not in str(result.clean.to_dicts())
    assert "10.9.9.9" not in str(result.clean.to_dicts())


def test_a_value_of_the_wrong_json_type_is_quarantined_not_published_as_text(tmp_path):
    """Text fields took any JSON value as its text (an event_id `{"id":1}`, a user_id `true`),
    and a price written as a string was read as a number."""
    lines = [
        event("a", user_id=True),
        event("b", session_id=["s", 1]),
        event("c", event_type="purchase", product_id="p1", price="12.5", currency="EUR"),
        event("d", event_time=1772445600),
        {**event("e"), "event_id": {"id": 1}},
        event(
            "ok", user_id='u"1\\', event_type="purchase", product_id="p1", price=2, currency="EUR"
        ),
    ]
    result = clean_events(tmp_path, {DAY: [json.dumps(line) for line in lines]})
    assert result.clean.select("event_id", "user_id", "price").rows() == [("ok", 'u"1\\', 2.0)]
    assert result.quarantine["_reason"].to_list() == [
        "invalid_value:user_id",
        "invalid_value:session_id",
        "invalid_value:price",
        "invalid_value:event_time",
        "invalid_value:event_id",
    ]


def signups(tmp_path: Path, shapes: dict[str, str]):
    """Clean one signup event per shape, its `properties` the shape's JSON text as written;
    the result, and its clean rows by event id (the shape's name)."""
    lines = [
        json.dumps(event(name, event_type="signup", properties={})).replace(
            '"properties": {}', f'"properties": {shape}'
        )
        for name, shape in shapes.items()
    ]
    result = clean_events(tmp_path, {DAY: lines})
    return result, {r["event_id"]: r for r in result.clean.to_dicts()}


def test_an_email_in_properties_never_reaches_clean_whatever_its_key_or_depth(tmp_path):
    """Only a key spelled exactly `email` was removed: the same address under `Email`, an
    escaped `\\u0045MAIL`, `"email "`, one level down or under another key reached clean."""
    shapes = {
        "case": '{"Email": "Ana@Leak.io", "ref": "ad"}',
        "escaped": '{"\\u0045MAIL": "ana@leak.io"}',
        "spaces": '{" email ": "ana@leak.io"}',
        "nested": '{"user": {"email": "ana@leak.io", "plan": "pro"}}',
        "other_key": '{"contact": "write to ana@leak.io", "tags": ["x", "ana@leak.io"]}',
        "kept": '{"query": "user@home", "method": "email"}',
        "blank": '{"email": "", "Email": "ana@leak.io"}',
    }
    result, rows = signups(tmp_path, shapes)
    assert "leak.io" not in str(result.clean.to_dicts())
    ana = keyed_hash(pl.Series(["ana@leak.io"]), "k")[0]
    assert [rows[n]["email_hash"] for n in ("case", "escaped", "spaces", "blank")] == [ana] * 4
    assert [rows[n]["email_hash"] for n in ("nested", "other_key", "kept")] == [None] * 3
    assert json.loads(rows["case"]["properties"]) == {"ref": "ad"}
    assert json.loads(rows["nested"]["properties"]) == {"user": {"plan": "pro"}}
    assert json.loads(rows["other_key"]["properties"]) == {"tags": ["x"]}
    assert json.loads(rows["kept"]["properties"]) == {"query": "user@home", "method": "email"}


def test_an_object_scrubbed_of_an_email_is_written_back_as_read_or_quarantined(tmp_path):
    """An address used as a key stayed; a key named twice kept its last value (DuckDB reads
    the first); 1e400 came out as `Infinity`, not JSON; deep nesting crashed the day."""
    deep = "[" * 3000 + "]" * 3000
    shapes = {
        "as_key": '{"ana@leak.io": true, "ref": "ad"}',
        "twice": '{"plan": "pro", "plan": "free", "note": "ana@leak.io"}',
        "huge": '{"v": 1e400, "note": "ana@leak.io"}',
        "deep": f'{{"v": {deep}, "note": "ana@leak.io"}}',
    }
    result, rows = signups(tmp_path, shapes)
    assert json.loads(rows["as_key"]["properties"]) == {"ref": "ad"}
    assert json.loads(rows["twice"]["properties"]) == {"plan": "pro"}
    assert reasons(result) == [(3, "invalid_value:properties"), (4, "invalid_value:properties")]
    assert "leak.io" not in str(result.clean.to_dicts())


def test_a_context_that_is_not_an_object_is_quarantined_without_its_text(tmp_path):
    """`context` is read only for the keys taken from it, as a struct: a string, number or
    array read as an object with no keys, and the row was published as if it had none."""
    lines = [
        event("text", context="10.9.9.9"),
        event("number", context=7),
        event("list", context=["10.9.9.9"]),
        event("empty", context={}),
        event("none", context=None),
        {k: v for k, v in event("absent").items() if k != "context"},
        event("other_keys", context={"screen": "small"}),
        event("ok", context={"ip": "10.1.2.3", "locale": "de"}),
    ]
    result = clean_events(tmp_path, {DAY: [json.dumps(line) for line in lines]})
    assert sorted(result.clean["event_id"]) == ["absent", "empty", "none", "ok", "other_keys"]
    assert result.quarantine["_reason"].to_list() == ["invalid_value:context"] * 3
    assert "10.9.9.9" not in str(result.clean.to_dicts())


@pytest.mark.parametrize("key", ["k", "a key longer than sha256's 64-byte block " * 2])
@pytest.mark.parametrize(
    "delivered",
    [
        [" Ann@Example.com", None, "10.1.2.3", "", "  "],  # no value repeats: each hashed as is
        ["10.1.2.3", " Ann@Example.com", "ann@example.com ", None, "10.1.2.3"],  # looked up
    ],
)
def test_keyed_hash_is_standard_hmac_sha256_of_the_normalised_value(key, delivered):
    values = pl.Series(delivered)
    expected = [
        hmac.new(key.encode(), v.strip().lower().encode(), hashlib.sha256).hexdigest()
        if v and v.strip()
        else None  # blank: no hash, or every user without an email would share one
        for v in values
    ]
    assert keyed_hash(values, key).to_list() == expected


def test_keyed_hashes_computed_on_several_threads_at_once_are_each_their_own():
    # the screening threads hash through cursors of one DuckDB (frames.scratch_duckdb)
    values = [pl.Series([f"user{n}@shop{i}.example" for n in range(5_000)]) for i in range(8)]
    one_at_a_time = [keyed_hash(v, "k") for v in values]
    with ThreadPoolExecutor(4) as pool:
        at_once = list(pool.map(lambda v: keyed_hash(v, "k"), values))
    assert all(a.equals(b) for a, b in zip(one_at_a_time, at_once, strict=True))


def test_keyed_hash_depends_on_the_key():
    values = pl.Series(["a@b.c", None])
    assert keyed_hash(values, "k1")[0] != keyed_hash(values, "k2")[0]
    assert keyed_hash(values, "k1")[1] is None


def test_corrupt_gzip_and_empty_file_are_recorded_not_fatal(tmp_path):
    folder = tmp_path / DAY.isoformat()
    good = deliver(folder, "a.jsonl.gz", [json.dumps(event("a"))], gz=True)
    (folder / "b.jsonl.gz").write_bytes(b"not gzip at all")
    (folder / "c.jsonl").write_bytes(b"")
    raw = read_delivery(sorted(folder.iterdir()), SOURCES["app_events"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    assert good.exists() and result.clean.height == 1
    assert result.quarantine.get_column("_reason").str.starts_with("unreadable_file").to_list() == [
        True
    ]


def test_a_line_that_is_not_utf8_is_quarantined_alone(tmp_path):
    folder = tmp_path / DAY.isoformat()
    lines = [json.dumps(event(name)).encode() for name in ("a", "b", "c")]
    lines[1] = lines[1].replace(b'"b"', b'"b\xff"')
    (folder / "events.jsonl").parent.mkdir(parents=True)
    (folder / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    other = deliver(folder, "other.jsonl", [json.dumps(event("d"))])
    raw_file = tmp_path / "raw.parquet"
    write_delivery(sorted(folder.iterdir()), SOURCES["app_events"], DAY, INGESTED, raw_file)
    raw = pl.read_parquet(raw_file)
    assert raw.height == 4 and other.exists()
    bad = raw.filter(pl.col("_error").is_not_null()).row(0, named=True)
    assert (bad["_error"], bad["_line_number"]) == ("bad_encoding", 2)
    assert '"b\\xff"' in bad["_record"]  # the byte escaped, the line otherwise as delivered
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    assert sorted(result.clean.get_column("event_id")) == ["a", "c", "d"]
    assert result.quarantine.get_column("_reason").to_list() == ["bad_encoding"]


def test_fields_a_sender_starts_to_send_are_found_at_either_end_of_any_file(tmp_path):
    """`extra_fields` on the raw materialization reads the keys of each file's first and last
    lines (here 2): a field sent from one file on, or from some time of the day on, is found
    in whichever file it is; one seen only mid-file is not."""
    folder = tmp_path / DAY.isoformat()
    deliver(folder, "a.jsonl", [json.dumps(event(f"a{i}")) for i in range(5)])
    later = [event(f"b{i}") for i in range(6)]
    later[2]["mid_file_only"] = 1
    later[4]["experiment_id"] = "exp-7"  # from the day's evening on
    later[5]["experiment_id"] = "exp-7"
    deliver(folder, "b.jsonl", [json.dumps(e) for e in later])
    deliver(folder, "c.jsonl.gz", ["[]", json.dumps({**event("c0"), "app_build": 412})], gz=True)
    raw_file = tmp_path / "raw.parquet"
    write_delivery(sorted(folder.iterdir()), SOURCES["app_events"], DAY, INGESTED, raw_file)
    found = extra_fields(pl.scan_parquet(raw_file), SOURCES["app_events"], sample=2)
    assert found == ["app_build", "experiment_id"]


def test_a_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path):
    folder = tmp_path / DAY.isoformat()
    path = deliver(
        folder, "events.jsonl.gz", [json.dumps(event(str(i))) for i in range(200)], gz=True
    )
    path.write_bytes(path.read_bytes()[:-40])  # the end of the stream is lost
    raw = read_delivery([path], SOURCES["app_events"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    reasons = result.quarantine.get_column("_reason").to_list()
    assert result.clean.height >= 150
    assert reasons[-1].startswith("unreadable_file: EOFError")
    assert result.clean.height + len(reasons) == raw.height


def test_a_corrupt_deflate_stream_is_one_row_and_the_other_files_arrive(tmp_path):
    folder = tmp_path / DAY.isoformat()
    path = deliver(folder, "a.jsonl.gz", [json.dumps(event("lost"))], gz=True)
    data = bytearray(path.read_bytes())
    data[10] = 0xFF  # the first deflate block's header (after gzip's 10 bytes): no such type
    path.write_bytes(bytes(data))
    deliver(folder, "b.jsonl", [json.dumps(event("other"))])
    raw = read_delivery(sorted(folder.iterdir()), SOURCES["app_events"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    assert result.clean.get_column("event_id").to_list() == ["other"]
    [reason] = result.quarantine.get_column("_reason").to_list()
    assert reason.startswith("unreadable_file: error: Error -3 while decompressing")  # zlib's


def test_a_csv_whose_header_is_not_utf8_is_one_unreadable_row(tmp_path):
    folder = tmp_path / DAY.isoformat()
    folder.mkdir(parents=True)
    row = "o1,u1,paid,1.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z"
    latin1 = f"{CSV_HEADER},café\n{row.replace('o1', 'o2')},crème\n"  # a Latin-1 export
    (folder / "a.csv").write_bytes(latin1.encode("latin-1"))
    (folder / "b.csv").write_text(f"{CSV_HEADER}\n{row}\n")
    raw = read_delivery(sorted(folder.iterdir()), SOURCES["orders"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["orders"], DAY, lateness_days=2, pii_key="k")
    assert result.clean.get_column("order_id").to_list() == ["o1"]
    [reason] = result.quarantine.get_column("_reason").to_list()
    assert reason == "unreadable_file: UnicodeError: its header is not UTF-8"


def test_a_csv_row_that_is_not_utf8_is_quarantined_alone(tmp_path):
    folder = tmp_path / DAY.isoformat()
    folder.mkdir(parents=True)
    row = "o{},u1,paid,1.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z"
    data = "\n".join([CSV_HEADER, row.format(1), row.format(2), row.format(3)]).encode() + b"\n"
    (folder / "orders.csv").write_bytes(data.replace(b"o2", b"o2\xe9"))
    raw = read_delivery(sorted(folder.iterdir()), SOURCES["orders"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["orders"], DAY, lateness_days=2, pii_key="k")
    assert sorted(result.clean.get_column("order_id")) == ["o1", "o3"]
    rejected = result.quarantine.row(0, named=True)
    assert (rejected["_reason"], rejected["_record"]) == ("bad_encoding", row.format("2\\xe9"))


CSV_HEADER = "order_id,user_id,status,amount,currency,created_at,updated_at"


def orders(tmp_path: Path, text: str, name: str = "orders.csv"):
    folder = tmp_path / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    raw = read_delivery(sorted(folder.iterdir()), SOURCES["orders"], DAY, INGESTED)
    return clean_partition(raw, SOURCES["orders"], DAY, lateness_days=2, pii_key="k")


def test_a_ragged_row_far_down_a_file_is_kept_verbatim(tmp_path):
    good = "o{},u1,paid,1.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z"
    ragged = "o999,u1,paid,1.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,extra"
    rows = [good.format(i) for i in range(150)] + [ragged]
    result = orders(tmp_path, "\n".join([CSV_HEADER, *rows]) + "\n")
    assert result.clean.height == 150
    rejected = result.quarantine.row(0, named=True)
    assert (rejected["_reason"], rejected["_record"]) == ("malformed_csv_row", ragged)


def test_orders_keep_every_version_and_reject_bad_rows(tmp_path):
    text = "\n".join(
        [
            CSV_HEADER + ",coupon_code",
            "o1,u1,created,10.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,",
            "o1,u1,paid,10.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:05:00Z,SPRING",
            "o1,u1,paid,10.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:05:00Z,SPRING",
            "o2,u1,lost,5.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,",
            "o3,u1,paid,-5.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,",
            "o4,u1,paid,abc,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,",
            "o5,u1,paid,1,EUR,2026-03-02T10:00:00Z,2026-03-02T09:00:00Z,",
            "o6,u1,paid,1,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,,unexpected",
        ]
    )
    result = orders(tmp_path, text + "\n")
    assert result.clean.select("order_id", "status").rows() == [("o1", "created"), ("o1", "paid")]
    assert result.duplicates == 1
    reasons = result.quarantine.get_column("_reason").to_list()
    assert "check_failed:status:isin" in reasons[0]
    assert "greater_than_or_equal_to" in reasons[1]
    assert reasons[2] == "invalid_value:amount"
    assert "updated_at must not be before created_at" in reasons[3]
    assert reasons[4] == "malformed_csv_row"
    assert (
        sum(result.counts[k] for k in ("rows_clean", "rows_quarantined", "duplicates_dropped")) == 8
    )


ROW = "o{},u1,paid,1.00,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z"


def reasons(result) -> list[tuple[int, str]]:
    return result.quarantine.select("_line_number", "_reason").rows()


@pytest.mark.parametrize(("rows", "quoted_later"), [(7, False), (7, True), (3000, False)])
def test_a_quote_never_closed_costs_its_own_row_only(tmp_path, rows, quoted_later):
    """A small file used to lose the rows after the quote into one malformed row (received 2
    of 7), or, with a quoted field further down, into one clean row holding three; a large one
    failed the day's raw step with the csv module's field size limit."""
    lines = [ROW.format(i) for i in range(rows)]
    lines[1] = lines[1].replace(",u1,", ',"u1,')
    if quoted_later:
        lines[3] = lines[3].replace(",u1,", ',"u1",')
    result = orders(tmp_path, "\n".join([CSV_HEADER, *lines]) + "\n")
    assert result.counts["rows_received"] == rows
    assert result.clean.height == rows - 1
    assert reasons(result) == [(3, "malformed_csv_row")]
    assert result.quarantine["_record"][0] == lines[1]


def test_a_file_read_row_by_row_keeps_a_quoted_field_over_two_lines_in_one_row(tmp_path):
    quoted = ROW.format(2).replace(",u1,", ',"u\n1",')
    ragged = ROW.format(4) + ",extra"  # sends the file to the row-by-row reader
    result = orders(tmp_path, "\n".join([CSV_HEADER, ROW.format(1), quoted, ROW.format(3), ragged]))
    assert result.clean["user_id"].to_list() == ["u1", "u\n1", "u1"]
    assert reasons(result) == [(5, "malformed_csv_row")]  # as polars numbers rows


def test_a_csv_that_is_only_a_byte_order_mark_is_an_empty_file(tmp_path):
    """What a spreadsheet's "CSV UTF-8" export of an empty sheet holds; it failed the day."""
    (tmp_path / DAY.isoformat()).mkdir()
    (tmp_path / DAY.isoformat() / "b.csv").write_bytes(b"\xef\xbb\xbf")
    result = orders(tmp_path, f"{CSV_HEADER}\n{ROW.format(1)}\n", name="a.csv")
    assert result.clean["order_id"].to_list() == ["o1"] and result.quarantine.height == 0


RAGGED = ROW.format(9) + ",extra"  # sends a file to the row-by-row reader


@pytest.mark.parametrize("reader", ["polars", "row by row"])
@pytest.mark.parametrize(
    ("text", "clean", "rejected"),
    [
        # a lone \r (classic Mac): polars read the rows as header names, and they were lost
        (f"{CSV_HEADER}\r{ROW.format(1)}\r{ROW.format(2)}\r", ["o1", "o2"], []),
        (f"{CSV_HEADER}\r{ROW.format(1)}\n{ROW.format(2)}\n", ["o1", "o2"], []),
        # an empty field is null whichever reader reads it (the row-by-row one published "")
        (
            f"{CSV_HEADER}\n{ROW.format(1)}\n,,paid,1,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z\n"
            f'"",u1,paid,1,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z\n',
            ["o1"],
            [
                (3, "check_failed:order_id:not_nullable; check_failed:user_id:not_nullable"),
                (4, "check_failed:order_id:not_nullable"),
            ],
        ),
        # a short row or a blank line: polars filled it with nulls, a row like any other
        (
            f"{CSV_HEADER}\n{ROW.format(1)}\no2,u1,paid\n\n{ROW.format(3)}\n",
            ["o1", "o3"],
            [(3, "malformed_csv_row"), (4, "empty_line")],
        ),
    ],
)
def test_both_csv_readers_read_a_file_alike(tmp_path, reader, text, clean, rejected):
    end = "\r" if text.endswith("\r") else "\n"
    result = orders(tmp_path, text + (RAGGED + end if reader == "row by row" else ""))
    assert result.clean["order_id"].to_list() == clean
    ragged = [(len(text.splitlines()) + 1, "malformed_csv_row")] if reader == "row by row" else []
    assert reasons(result) == rejected + ragged


@pytest.mark.parametrize("reader", ["polars", "row by row"])
def test_a_csv_naming_a_column_twice_has_every_row_quarantined(tmp_path, reader):
    """Which `amount` won depended on the reader (the first, or the last with a ragged row)."""
    text = f"{CSV_HEADER},amount\n{ROW.format(1)},999\n" + (RAGGED if reader != "polars" else "")
    result = orders(tmp_path, text)
    assert result.clean.height == 0
    assert set(result.quarantine["_reason"]) == {"duplicate_column: amount"}
    assert "999" in result.quarantine["_record"][0]


@pytest.mark.parametrize("reader", ["polars", "row by row"])
def test_a_header_ending_in_commas_is_read_with_its_unnamed_columns_as_extra(tmp_path, reader):
    """Spreadsheet exports end a header with commas: an empty name crashed the whole delivery,
    and two of them are no column of the contract named twice."""
    end = ",," if reader == "polars" else ",,\n" + RAGGED
    text = f"{CSV_HEADER},,\n{ROW.format(1)}{end}\n"
    result = orders(tmp_path, text)
    assert result.clean["order_id"].to_list()[:1] == ["o1"]
    assert not any(r.startswith("duplicate_column") for r in result.quarantine["_reason"])


@pytest.mark.parametrize("reader", ["polars", "row by row"])
def test_delivered_columns_named_like_the_platforms_are_kept_renamed(tmp_path, reader):
    """A delivered `_row` crashed the partition; `_error` became the rows' `_reason`."""
    header = f"{CSV_HEADER},_row,_error,_record"
    text = f"{header}\n{ROW.format(1)},r,e,x\n" + (RAGGED + ",,\n" if reader != "polars" else "")
    folder = tmp_path / DAY.isoformat()
    folder.mkdir()
    (folder / "orders.csv").write_text(text)
    raw = read_delivery([folder / "orders.csv"], SOURCES["orders"], DAY, INGESTED)
    assert raw.row(0, named=True) | {"delivered_row": "r", "delivered_error": "e"} == raw.row(
        0, named=True
    )
    assert raw.row(0, named=True)["delivered_record"] == "x"
    result = clean_partition(raw, SOURCES["orders"], DAY, lateness_days=2, pii_key="k")
    assert result.clean["order_id"].to_list()[:1] == ["o1"]


def test_a_gzip_file_padded_with_nul_bytes_is_read_whole(tmp_path):
    """Block-padded transfers leave NULs after the gzip stream: gzip reads the file, polars
    refused it, and the whole delivery's raw step failed."""
    folder = tmp_path / DAY.isoformat()
    other = deliver(folder, "a.jsonl", [json.dumps(event("other"))])
    padded = deliver(folder, "b.jsonl.gz", [json.dumps(event(e)) for e in "xy"], gz=True)
    padded.write_bytes(padded.read_bytes() + b"\0" * 16)
    raw = read_delivery([other, padded], SOURCES["app_events"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    assert result.clean["event_id"].to_list() == ["other", "x", "y"]
    assert result.quarantine.height == 0


@pytest.mark.parametrize("gz", [False, True])
def test_a_json_lines_file_starting_with_a_byte_order_mark_keeps_its_first_record(tmp_path, gz):
    folder = tmp_path / DAY.isoformat()
    lines = ["\ufeff" + json.dumps(event("first")), json.dumps(event("second"))]
    raw = read_delivery(
        [deliver(folder, "e.jsonl.gz" if gz else "e.jsonl", lines, gz=gz)],
        SOURCES["app_events"],
        DAY,
        INGESTED,
    )
    result = clean_partition(raw, SOURCES["app_events"], DAY, lateness_days=2, pii_key="k")
    assert result.clean["event_id"].to_list() == ["first", "second"]


BOM_AND_RAGGED = f"\ufeff{CSV_HEADER}\n{ROW.format(1)}\n{ROW.format(2)},extra\n"


@pytest.mark.parametrize(
    ("text", "clean", "rejected"),
    [  # a BOM kept in the first column's name made every row `missing_required_column`
        (BOM_AND_RAGGED, ["o1"], [(3, "malformed_csv_row")]),
        # no row of the header's width: the frame lacked the header's columns
        (f"{CSV_HEADER}\n{ROW.format(1)},extra\n", [], [(2, "malformed_csv_row")]),
    ],
)
def test_a_file_read_row_by_row_blames_each_row_not_its_header(tmp_path, text, clean, rejected):
    result = orders(tmp_path, text)
    assert result.clean["order_id"].to_list() == clean
    assert reasons(result) == rejected


def test_a_file_of_latin1_rows_is_quarantined_row_by_row_as_bad_encoding(tmp_path):
    (tmp_path / DAY.isoformat()).mkdir()
    text = CSV_HEADER + "\n" + ROW.format(1).replace("u1", "u\xe9") + "\n"
    (tmp_path / DAY.isoformat() / "orders.csv").write_bytes(text.encode("latin-1"))
    raw = read_delivery(
        sorted((tmp_path / DAY.isoformat()).iterdir()), SOURCES["orders"], DAY, INGESTED
    )
    result = clean_partition(raw, SOURCES["orders"], DAY, lateness_days=2, pii_key="k")
    assert reasons(result) == [(2, "bad_encoding")]


def test_a_delivery_missing_a_required_column_is_quarantined_whole(tmp_path):
    text = "order_id,user_id,status,currency,created_at,updated_at\n"
    text += "o1,u1,paid,EUR,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z\n"
    result = orders(tmp_path, text)
    assert result.clean.height == 0
    assert result.quarantine.get_column("_reason").to_list() == ["missing_required_column: amount"]


def test_users_keep_the_latest_record_and_drop_name_and_phone(tmp_path):
    folder = tmp_path / DAY.isoformat()
    user = {
        "user_id": "u1",
        "email": "x@y.z",
        "full_name": "Ana Silva",
        "country": "PT",
        "signup_at": "2026-03-01T08:00:00Z",
        "marketing_opt_in": True,
        "phone": "+351 900 000 000",
    }
    path = deliver(folder, "users.jsonl", [json.dumps(user), json.dumps({**user, "country": "ES"})])
    raw = read_delivery([path], SOURCES["users"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["users"], DAY, lateness_days=2, pii_key="k")
    assert result.clean.get_column("country").to_list() == ["ES"]
    assert not {"email", "full_name", "phone"} & set(result.clean.columns)
    assert "Ana Silva" not in str(result.clean.to_dicts())


def test_a_users_json_types_are_checked_where_the_value_is_used(tmp_path):
    """An email that is not a string is quarantined; a phone written as a number is dropped
    like any phone; marketing_opt_in takes a boolean or its text."""
    user = {"user_id": "u1", "country": "PT", "signup_at": "2026-03-01T08:00:00Z"}
    lines = [
        {**user, "user_id": "u1", "email": 42, "marketing_opt_in": True},
        {
            **user,
            "user_id": "u2",
            "email": "a@b.c",
            "phone": 351900000000,
            "marketing_opt_in": True,
        },
        {**user, "user_id": "u3", "email": "d@e.f", "marketing_opt_in": "false"},
    ]
    path = deliver(tmp_path / DAY.isoformat(), "users.jsonl", [json.dumps(u) for u in lines])
    raw = read_delivery([path], SOURCES["users"], DAY, INGESTED)
    result = clean_partition(raw, SOURCES["users"], DAY, lateness_days=2, pii_key="k")
    assert result.clean.select("user_id", "marketing_opt_in").rows() == [
        ("u2", True),
        ("u3", False),
    ]
    assert result.quarantine["_reason"].to_list() == ["invalid_value:email"]


def test_a_json_path_below_the_top_level_is_refused(tmp_path):
    spec = dataclasses.replace(SOURCES["app_events"], json_extract={"ip": ("context", "$.geo.ip")})
    path = deliver(tmp_path, "e.jsonl", [json.dumps(event("e"))])
    raw = read_delivery([path], spec, DAY, INGESTED)
    with pytest.raises(ValueError, match=r"\$\.geo\.ip"):
        clean_partition(raw, spec, DAY, lateness_days=2, pii_key="k")
