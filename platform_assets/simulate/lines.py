"""Render events as app_events JSON lines, entirely with polars expressions."""

from __future__ import annotations

import numpy as np
import polars as pl

from platform_assets.simulate import vocab
from platform_assets.simulate.events import (
    ADD,
    CHECKOUT,
    LOGIN,
    PAGE_VIEW,
    PRODUCT_VIEW,
    PURCHASE,
    REMOVE,
    SEARCH,
    SIGNUP,
    Events,
)
from platform_assets.simulate.fmt import choice, local_text, pick, prefixed, uuid4
from platform_assets.simulate.people import ips
from platform_assets.simulate.sessions import Sessions
from platform_assets.sources.specs import APPS, EVENT_TYPES

_UA_FLAT = [ua for app in APPS for ua in vocab.USER_AGENTS[app]]
_UA_SIZES = np.array([len(vocab.USER_AGENTS[app]) for app in APPS])
_UA_START = np.cumsum(_UA_SIZES) - _UA_SIZES
_QUERIES = vocab.search_queries()


def session_frame(rng: np.random.Generator, sess: Sessions, users: pl.DataFrame) -> pl.DataFrame:
    """Per-session fields shared by the session's events (ids, app, context, time offset)."""
    u = users.select("user_id", "email", "ip", "locale", "offset_min", "offset", "device")
    u = u.with_columns(pl.col("device").cast(pl.Int64))[sess.user]
    mobile_ip = pl.Series(rng.random(sess.size) < 0.5) & pl.Series(sess.app > 0)
    ip = pl.select(pl.when(mobile_ip).then(ips(rng, sess.size)).otherwise(u["ip"])).to_series()
    ua = _UA_START[sess.app] + u["device"].to_numpy() % _UA_SIZES[sess.app]
    context = pl.struct(
        ip.alias("ip"), pick(_UA_FLAT, ua).alias("user_agent"), u["locale"].alias("locale")
    )
    frame = pl.DataFrame(
        {
            "session_id": uuid4(rng, sess.size),
            "user_id": u["user_id"],
            "app": pick(APPS, sess.app),
            "email": u["email"],
            "offset_min": u["offset_min"],
            "offset": u["offset"],
            "cart_items": sess.steps["cart"] - sess.steps["remove"],
        }
    )
    ids = pl.format('"user_id":"{}","session_id":"{}","app":"{}"', "user_id", "session_id", "app")
    return frame.with_columns(context.struct.json_encode().alias("context"), ids.alias("ids"))


def render(
    rng: np.random.Generator,
    ev: Events,
    sessions: pl.DataFrame,
    product_ids: pl.Series,
    currency_of: np.ndarray,
    experiment: pl.Series | None = None,
) -> pl.DataFrame:
    """One JSON line per event, plus `time_ms` and `event_id` for fault injection.

    Lines are concatenated from text pieces (faster than encoding structs); every string
    value outside `properties` is an id, an enum or a timestamp, so none needs escaping.
    Pieces shared by many events (a session's ids, a product at a price) are built once.
    """
    s = pl.Series(ev.session)
    local_ms = ev.time_ms + sessions["offset_min"].to_numpy()[ev.session] * 60_000
    frame = pl.DataFrame(
        {
            "event_id": uuid4(rng, ev.size),
            "event_type": pick(EVENT_TYPES, ev.kind),
            "product_id": product_ids.gather(pl.Series(np.maximum(ev.product, 0))),
            "time_ms": ev.time_ms,
        }
    ).with_columns(local_text(pl.Series(local_ms), sessions["offset"].gather(s)).alias("time"))
    pieces = ['{"event_id":"', pl.col("event_id"), '",', sessions["ids"].gather(s)]
    pieces += [',"event_type":"', pl.col("event_type"), '","event_time":"', pl.col("time")]
    pieces += ['",', _product_fields(ev, product_ids, currency_of)]
    pieces += [',"properties":', _properties(rng, ev, frame, sessions)]
    pieces += [',"context":', sessions["context"].gather(s)]
    if experiment is not None:
        pieces += [',"experiment_id":', _quoted(pl.lit(experiment.gather(s)))]
    exprs = [pl.lit(p) if isinstance(p, str) else p for p in [*pieces, "}"]]
    return frame.select(pl.concat_str(exprs).alias("line"), "time_ms", "event_id")


def _product_fields(ev: Events, product_ids: pl.Series, currency_of: np.ndarray) -> pl.Series:
    """The `product_id`, `price`, `currency` members, built once per (product, price)."""
    cents = np.round(np.nan_to_num(ev.price) * 100).astype(np.int64)
    keys, inverse = np.unique((ev.product + 1) << 32 | cents, return_inverse=True)
    product, price = (keys >> 32) - 1, (keys & 0xFFFFFFFF) / 100
    known = pl.Series(product >= 0)
    text = pl.format(
        '"product_id":"{}","price":{},"currency":"{}"',
        product_ids.gather(pl.Series(np.maximum(product, 0))),
        pl.Series(price).cast(pl.Utf8),
        pick(vocab.CURRENCIES, currency_of[np.maximum(product, 0)]),
    )
    none = '"product_id":null,"price":null,"currency":null'
    fields = pl.select(pl.when(known).then(text).otherwise(pl.lit(none))).to_series()
    return fields.gather(pl.Series(inverse.ravel()))


def _quoted(text: pl.Expr) -> pl.Expr:
    """A JSON string (or null) from text that needs no escaping."""
    return pl.concat_str(pl.lit('"'), text, pl.lit('"')).fill_null("null")


def _properties(
    rng: np.random.Generator, ev: Events, frame: pl.DataFrame, sessions: pl.DataFrame
) -> pl.Series:
    """The `properties` object of each event, shaped by its type."""
    parts = []
    for kind, build in _PROPERTY_BUILDERS.items():
        rows = np.flatnonzero(ev.kind == kind)
        if rows.size:
            text = pl.select(build(rng, rows, ev, frame, sessions).struct.json_encode())
            parts.append((rows, text.to_series()))
    rows = np.concatenate([r for r, _ in parts])
    return pl.concat([t for _, t in parts]).gather(pl.Series(np.argsort(rows)))


# Property builders share one signature: (rng, event rows, events, event frame, sessions).


def _page(rng, rows, ev, frame, sessions) -> pl.Expr:
    weights = [6, 2, 2, 1, 1, 1, 1, 1] + [1] * (len(vocab.PAGES) - 8)
    return pl.struct(pick(vocab.PAGES, choice(rng, weights, rows.size)).alias("page_path"))


def _search(rng, rows, ev, frame, sessions) -> pl.Expr:
    query = pick(_QUERIES, rng.integers(0, len(_QUERIES), rows.size)).alias("query")
    results = pl.Series("results_count", rng.geometric(0.04, rows.size) - 1)
    return pl.struct(query, results)


def _product_view(rng, rows, ev, frame, sessions) -> pl.Expr:
    path = "/products/" + frame["product_id"].gather(pl.Series(rows))
    lists = pick(vocab.PRODUCT_LISTS, choice(rng, (4, 3, 2, 1, 1), rows.size))
    return pl.struct(path.alias("page_path"), lists.alias("list"))


def _cart_change(rng, rows, ev, frame, sessions) -> pl.Expr:
    return pl.struct(pl.Series("quantity", np.ones(rows.size, dtype=np.int64)))


def _checkout(rng, rows, ev, frame, sessions) -> pl.Expr:
    items = sessions["cart_items"].gather(pl.Series(ev.session[rows])).alias("cart_items")
    return pl.struct(items, pl.Series("step", ["shipping"] * rows.size))


def _purchase(rng, rows, ev, frame, sessions) -> pl.Expr:
    order_id = prefixed("ord_", ev.order[rows], 8).alias("order_id")
    method = pick(
        ("card", "paypal", "apple_pay", "google_pay"), choice(rng, (6, 2, 1, 1), rows.size)
    )
    return pl.struct(order_id, method.alias("payment_method"))


def _signup(rng, rows, ev, frame, sessions) -> pl.Expr:
    email = sessions["email"].gather(pl.Series(ev.session[rows])).alias("email")
    method = pick(vocab.SIGNUP_METHODS, choice(rng, (6, 3, 2), rows.size)).alias("method")
    return pl.struct(email, method)


def _login(rng, rows, ev, frame, sessions) -> pl.Expr:
    method = pick(vocab.LOGIN_METHODS, choice(rng, (6, 3, 2), rows.size)).alias("method")
    return pl.struct(method)


_PROPERTY_BUILDERS = {
    PAGE_VIEW: _page,
    SEARCH: _search,
    PRODUCT_VIEW: _product_view,
    ADD: _cart_change,
    REMOVE: _cart_change,
    CHECKOUT: _checkout,
    PURCHASE: _purchase,
    SIGNUP: _signup,
    LOGIN: _login,
}
