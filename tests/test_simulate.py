"""`data-platform simulate`: the landing-zone contract, realism, determinism and faults."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from platform_assets.cli import main
from platform_assets.simulate import FAULT_KINDS, simulate

START = date(2026, 3, 1)  # a Sunday
EVENTS_PER_DAY = 2_000
EVENT_FIELDS = {
    "event_id",
    "user_id",
    "session_id",
    "app",
    "event_type",
    "event_time",
    "product_id",
    "price",
    "currency",
    "properties",
    "context",
}
EVENT_TYPES = {
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "purchase",
    "signup",
    "login",
}
USER_FIELDS = {
    "user_id",
    "email",
    "full_name",
    "country",
    "signup_at",
    "marketing_opt_in",
    "phone",
}
PRODUCT_EVENTS = {"product_view", "add_to_cart", "remove_from_cart", "purchase"}
CURRENCIES = {"EUR", "USD", "GBP"}
STATUSES = {"created", "paid", "shipped", "delivered", "cancelled", "refunded"}
LIFECYCLES = [  # every order's statuses in time order are a prefix of one of these
    ["created", "paid", "shipped", "delivered", "refunded"],
    ["created", "paid", "cancelled"],
    ["created", "cancelled"],
]
ORDER_HEADER = "order_id,user_id,status,amount,currency,created_at,updated_at"
PRODUCT_HEADER = "product_id,name,category,price,currency,active,updated_at"
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EMAIL = re.compile(r"^[a-z0-9._]+@[a-z.]+$")


# --- reading the landing zone -------------------------------------------------------------


def days(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


def read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def event_files(root: Path, day: date) -> list[Path]:
    return sorted((root / "app_events" / day.isoformat()).iterdir())


def is_redelivery(path: Path) -> bool:
    """A file named after another day than the folder it was delivered in."""
    return path.name.split("_")[1] != path.parent.name.replace("-", "")


def raw_lines(root: Path, n_days: int) -> list[tuple[date, Path, str]]:
    """(delivery day, file, line) for every line of every app_events delivery."""
    out = []
    for day in days(n_days):
        for path in event_files(root, day):
            out += [(day, path, line) for line in read_text(path).split("\n")[:-1]]
    return out


def parse(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def csv_rows(path: Path) -> tuple[str, list[dict]]:
    text = path.read_text()
    return text.split("\n", 1)[0], list(csv.DictReader(text.splitlines()))


def users_by_day(root: Path, n_days: int) -> dict[date, list[dict]]:
    return {
        day: [
            json.loads(x)
            for x in read_text(root / "users" / str(day) / "users.jsonl").split("\n")[:-1]
        ]
        for day in days(n_days)
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    return root, simulate(root, START, 3, EVENTS_PER_DAY, seed=11)


@pytest.fixture(scope="module")
def clean_events(clean) -> list[dict]:
    """Parsed events of the clean run, each with `_delivery` and `_utc`."""
    root, _ = clean
    events = []
    for day, _, line in raw_lines(root, 3):
        record = json.loads(line)
        events.append({**record, "_delivery": day, "_utc": utc(record["event_time"])})
    return events


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("faulty")
    return root, simulate(root, START, 6, EVENTS_PER_DAY, seed=5, faults=True)


@pytest.fixture(scope="module")
def faulty_lines(faulty) -> list[tuple[date, Path, str, dict | None]]:
    """(delivery day, file, line, parsed record or None), redelivered files left out."""
    root, _ = faulty
    return [(d, p, x, parse(x)) for d, p, x in raw_lines(root, 6) if not is_redelivery(p)]


# --- clean deliveries ---------------------------------------------------------------------


def test_layout_and_counts(clean):
    root, report = clean
    assert set(report) == {"app_events", "orders", "products", "users"}
    suffixes = set()
    for day in days(3):
        files = event_files(root, day)
        assert 2 <= len(files) <= 4
        suffixes |= {p.name.endswith(".gz") for p in files}
        n_lines = sum(len(read_text(p).split("\n")) - 1 for p in files)
        assert abs(n_lines - EVENTS_PER_DAY) <= 0.05 * EVENTS_PER_DAY
        for source, name in (("orders", "orders.csv"), ("products", "products.csv")):
            assert (root / source / str(day) / name).is_file()
        assert (root / "users" / str(day) / "users.jsonl").is_file()
    assert suffixes == {True, False}, "expected a mix of plain and gzipped files"
    assert report["app_events"]["files"] == sum(len(event_files(root, d)) for d in days(3))
    assert report["app_events"]["rows"] == len(raw_lines(root, 3))


def test_events_match_the_contract(clean_events):
    assert len({e["event_id"] for e in clean_events}) == len(clean_events)
    for e in clean_events:
        fields = {k for k in e if not k.startswith("_")}
        assert fields == EVENT_FIELDS
        assert all(isinstance(e[k], str) and e[k] for k in ("event_id", "user_id", "session_id"))
        assert e["app"] in {"web", "ios", "android"}
        assert e["event_type"] in EVENT_TYPES
        if e["event_type"] in PRODUCT_EVENTS:
            assert isinstance(e["product_id"], str)
            assert isinstance(e["price"], int | float) and e["price"] >= 0
            assert e["currency"] in CURRENCIES
        else:
            assert e["product_id"] is None and e["price"] is None and e["currency"] is None
        assert isinstance(e["properties"], dict)
        assert set(e["context"]) == {"ip", "user_agent", "locale"}
        if e["event_type"] == "signup":
            assert EMAIL.match(e["properties"]["email"])


def test_event_times_have_offsets_and_fall_on_the_delivery_day(clean_events):
    offsets = Counter(e["event_time"][-6:] for e in clean_events)
    assert len(offsets) >= 4
    for e in clean_events:
        assert LOCAL_TIME.match(e["event_time"]), e["event_time"]
        assert e["_utc"].date() == e["_delivery"]


def test_apps_hours_and_weekends_look_real(clean_events):
    apps = Counter(e["app"] for e in clean_events)
    assert apps["web"] > apps["ios"] > apps["android"] > 0
    local_hours = Counter(int(e["event_time"][11:13]) for e in clean_events)
    assert local_hours[20] > 3 * local_hours[4], "evenings should be busier than nights"
    per_day = Counter(e["_delivery"] for e in clean_events)
    assert per_day[START] > per_day[START + timedelta(days=1)], "Sunday busier than Monday"


def sessions_of(events: list[dict]) -> dict[str, list[dict]]:
    sessions = defaultdict(list)
    for e in sorted(events, key=lambda e: e["_utc"]):
        sessions[e["session_id"]].append(e)
    return sessions


def test_funnels_make_sense(clean_events):
    sessions = sessions_of(clean_events)
    reached = Counter()
    for events in sessions.values():
        kinds = [e["event_type"] for e in events]
        steps = ["product_view", "add_to_cart", "checkout_started", "purchase"]
        reached.update(s for s in steps if s in kinds)
        for earlier, later in zip(steps, steps[1:], strict=False):
            if later in kinds:
                assert kinds.index(earlier) < kinds.index(later), kinds
        viewed = set()
        for e in events:
            if e["event_type"] == "product_view":
                viewed.add(e["product_id"])
            elif e["event_type"] == "add_to_cart":
                assert e["product_id"] in viewed
        assert len({(e["user_id"], e["app"]) for e in events}) == 1
    assert reached["purchase"] <= reached["checkout_started"] <= reached["add_to_cart"]
    assert 0.15 < reached["add_to_cart"] / reached["product_view"] < 0.45
    assert 0.25 < reached["checkout_started"] / reached["add_to_cart"] < 0.55
    assert 0.4 < reached["purchase"] / reached["checkout_started"] < 0.8


def test_sessions_are_separated_by_inactivity(clean_events):
    spans = defaultdict(list)
    for events in sessions_of(clean_events).values():
        spans[events[0]["user_id"]].append((events[0]["_utc"], events[-1]["_utc"]))
        gaps = [b["_utc"] - a["_utc"] for a, b in zip(events, events[1:], strict=False)]
        assert all(g < timedelta(minutes=30) for g in gaps)
    for user_spans in spans.values():
        user_spans.sort()
        for (_, end), (start, _) in zip(user_spans, user_spans[1:], strict=False):
            assert start - end > timedelta(minutes=30)
    activity = sorted((len(s) for s in spans.values()), reverse=True)
    assert activity[0] >= 5 * activity[len(activity) // 2], "expected a long tail of users"


def test_users_signups_and_profile_updates(clean, clean_events):
    root, _ = clean
    deliveries = users_by_day(root, 3)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    known: dict[str, dict] = {}
    for day, records in deliveries.items():
        updates = 0
        for u in records:
            assert set(u) == USER_FIELDS
            assert EMAIL.match(u["email"]) and UTC_TIME.match(u["signup_at"])
            assert isinstance(u["marketing_opt_in"], bool)
            assert u["phone"] is None or u["phone"].startswith("+")
            signup = utc(u["signup_at"])
            if u["user_id"] in known:
                old = known[u["user_id"]]
                changed = [k for k in ("country", "marketing_opt_in") if old[k] != u[k]]
                assert changed, "a profile update must change country or opt-in"
                assert old["email"] == u["email"] and old["signup_at"] == u["signup_at"]
                updates += 1
            else:
                assert signup < start or signup.date() == day
            known[u["user_id"]] = u
        assert day == START or updates >= 1
    assert len(deliveries[START]) >= 200
    assert len({u["email"] for u in known.values()}) == len(known)
    signups = {e["user_id"]: e for e in clean_events if e["event_type"] == "signup"}
    new_users = {k: u for k, u in known.items() if utc(u["signup_at"]) >= start}
    assert signups.keys() == new_users.keys() and signups
    for user_id, e in signups.items():
        assert e["properties"]["email"] == new_users[user_id]["email"]
        assert utc(new_users[user_id]["signup_at"]) == e["_utc"].replace(microsecond=0)
    assert {e["user_id"] for e in clean_events} <= known.keys()


def test_products_snapshot_is_complete_and_prices_events(clean, clean_events):
    root, _ = clean
    previous: set[str] = set()
    catalogs = {}
    for day in days(3):
        header, rows = csv_rows(root / "products" / str(day) / "products.csv")
        assert header == PRODUCT_HEADER
        ids = [r["product_id"] for r in rows]
        assert len(ids) == len(set(ids)) and set(ids) >= previous and len(ids) >= 200
        assert len({r["category"] for r in rows}) == 8
        assert all(r["active"] in ("true", "false") and float(r["price"]) > 0 for r in rows)
        assert all(UTC_TIME.match(r["updated_at"]) and r["currency"] in CURRENCIES for r in rows)
        assert any(r["updated_at"].startswith(str(day)) for r in rows), "no price change today"
        previous, catalogs[day] = set(ids), {r["product_id"]: r for r in rows}
    for e in clean_events:
        if e["product_id"] is not None:
            product = catalogs[e["_delivery"]][e["product_id"]]
            assert product["active"] == "true" and product["currency"] == e["currency"]
            if e["_utc"] >= utc(product["updated_at"]):
                assert float(product["price"]) == e["price"]
            elif e["_delivery"] > START:  # before today's price change: yesterday's price
                yesterday = catalogs[e["_delivery"] - timedelta(days=1)]
                assert float(yesterday[e["product_id"]]["price"]) == e["price"]
    views = Counter(e["product_id"] for e in clean_events if e["event_type"] == "product_view")
    top = views.most_common()
    assert top[0][1] > 10 * top[len(top) // 2][1], "expected long-tail product popularity"


def test_orders_follow_purchases_and_reappear_as_they_change(clean, clean_events):
    root, _ = clean
    users = {u["user_id"] for d in users_by_day(root, 3).values() for u in d}
    history = defaultdict(list)
    for day in days(3):
        header, rows = csv_rows(root / "orders" / str(day) / "orders.csv")
        assert header == ORDER_HEADER
        for r in rows:
            assert r["status"] in STATUSES and r["currency"] in CURRENCIES
            assert UTC_TIME.match(r["created_at"]) and UTC_TIME.match(r["updated_at"])
            assert r["updated_at"].startswith(str(day)) and float(r["amount"]) > 0
            assert r["user_id"] in users
            history[r["order_id"]].append(r)
    purchases = defaultdict(list)
    for e in clean_events:
        if e["event_type"] == "purchase":
            purchases[e["properties"]["order_id"]].append(e)
    assert purchases.keys() == history.keys()
    for order_id, rows in history.items():
        statuses = [r["status"] for r in rows]
        assert any(cycle[: len(statuses)] == statuses for cycle in LIFECYCLES), statuses
        assert [r["updated_at"] for r in rows] == sorted(r["updated_at"] for r in rows)
        bought = purchases[order_id]
        assert float(rows[0]["amount"]) == pytest.approx(sum(e["price"] for e in bought))
        assert {e["user_id"] for e in bought} == {rows[0]["user_id"]}
        assert utc(rows[0]["created_at"]) == bought[0]["_utc"].replace(microsecond=0)
    assert max(len(rows) for rows in history.values()) >= 3, "orders should reappear"


def test_same_seed_same_bytes(tmp_path):
    def snapshot(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(tmp_path / name, START, 2, 500, seed=seed, faults=True)
        runs.append(snapshot(tmp_path / name))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("faults", [False, True])
def test_a_small_day_without_purchases_still_delivers(tmp_path, faults):
    # seed 7 at 300 events a day has a day on which nobody buys (`make dev DEV_EVENTS=300`)
    simulate(tmp_path, START, 3, 300, seed=7, faults=faults)
    assert len(list((tmp_path / "orders").rglob("*.csv"))) == 3


# --- faults -------------------------------------------------------------------------------


def test_clean_runs_have_no_faults(clean):
    root, report = clean
    assert "faults" not in report
    lines = raw_lines(root, 3)
    assert all(line and "experiment_id" not in line for _, _, line in lines)
    assert not any(is_redelivery(p) for _, p, _ in lines)
    for day in days(3):
        assert "coupon_code" not in (root / "orders" / str(day) / "orders.csv").read_text()


def test_faults_report_every_kind(faulty):
    _, report = faulty
    assert set(report["faults"]) == set(FAULT_KINDS)
    assert all(count > 0 for count in report["faults"].values()), report["faults"]


def test_faults_late_duplicate_and_redelivered_events(faulty, faulty_lines):
    root, report = faulty
    faults = report["faults"]
    lag = Counter()
    per_file, deliveries = Counter(), defaultdict(set)
    for day, path, _, r in faulty_lines:
        if r and r.get("event_type") in EVENT_TYPES and LOCAL_TIME.match(r["event_time"]):
            lag[(day - utc(r["event_time"]).date()).days] += 1
            per_file[(path, r["event_id"])] += 1
            deliveries[r["event_id"]].add(day)
    assert lag[2] == faults["late_events_2d"] and lag[4] == faults["very_late_events"]
    assert lag[1] == faults["late_events_1d"] + faults["duplicate_events_later_delivery"]
    assert set(lag) == {0, 1, 2, 4}
    assert sum(n == 2 for n in per_file.values()) == faults["duplicate_events_same_file"]
    later = sum(len(d) == 2 for d in deliveries.values())
    assert later == faults["duplicate_events_later_delivery"]
    copies = [p for day in days(6) for p in event_files(root, day) if is_redelivery(p)]
    assert len(copies) == faults["redelivered_files"]
    for copy in copies:
        day_before = date.fromisoformat(copy.parent.name) - timedelta(days=1)
        original = root / "app_events" / str(day_before) / copy.name
        assert copy.read_bytes() == original.read_bytes()


def test_faults_malformed_lines_and_bad_values(faulty, faulty_lines):
    faults = faulty[1]["faults"]
    lines = [x for _, _, x, _ in faulty_lines]
    records = [r for _, _, _, r in faulty_lines if r is not None]
    assert lines.count("") == faults["malformed_empty"]
    unparsed = sum(r is None for _, _, x, r in faulty_lines if x)
    assert unparsed == faults["malformed_truncated"] + faults["malformed_garbage"]
    found = Counter()
    for r in records:
        found["bad_negative_price"] += (r.get("price") or 0) < 0
        found["bad_unknown_event_type"] += r["event_type"] not in EVENT_TYPES
        found["bad_currency"] += r.get("currency") not in CURRENCIES | {None}
        found["bad_event_time"] += not LOCAL_TIME.match(r["event_time"])
        found["bad_missing_user_id"] += "user_id" not in r
    assert found == {k: faults[k] for k in found}


def test_faults_schema_change_and_bad_orders(faulty, faulty_lines):
    root, report = faulty
    for _, _, _, r in faulty_lines:
        if r and LOCAL_TIME.match(r.get("event_time", "")):
            assert ("experiment_id" in r) == (utc(r["event_time"]).date() > START)
    bad = Counter()
    for day in days(6):
        header, rows = csv_rows(root / "orders" / str(day) / "orders.csv")
        expected = ORDER_HEADER + (",coupon_code" if day > START else "")
        assert header == expected
        bad["bad_order_negative_amount"] += sum(float(r["amount"]) < 0 for r in rows)
        bad["bad_order_unknown_status"] += sum(r["status"] not in STATUSES for r in rows)
    assert bad == {k: report["faults"][k] for k in bad}


# --- command line -------------------------------------------------------------------------


def test_cli_prints_one_line_per_source(tmp_path, capsys):
    args = ["simulate", "--landing", str(tmp_path), "--start", "2026-03-01", "--days", "1"]
    assert main([*args, "--events-per-day", "300", "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["app_events", "orders", "products", "users"]
    assert (tmp_path / "users" / "2026-03-01" / "users.jsonl").is_file()
    with pytest.raises(SystemExit):
        main([*args, "--events-per-day", "0", "--seed", "1"])


def test_cli_refuses_what_it_cannot_simulate_in_one_line(tmp_path, capsys):
    """These ended in tracebacks (one after a day was already written)."""
    (tmp_path / "a-file").write_text("")
    cases = [
        (["--landing", str(tmp_path / "x"), "--start", "9999-12-30", "--days", "3"], "last date"),
        (["--landing", str(tmp_path / "a-file"), "--start", "2026-03-01", "--days", "1"], "Not a"),
    ]
    for args, reason in cases:
        assert main(["simulate", *args, "--events-per-day", "300", "--seed", "1"]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert line.startswith("data-platform simulate: ") and reason in line
    assert not (tmp_path / "x").exists()  # refused before writing anything
    assert main(["bench", "--events-per-day", "10", "--workdir", str(tmp_path / "b")]) == 1
    assert "events_per_day >= 50" in capsys.readouterr().err
