"""Explode planned sessions into ordered events, priced at event time, and group purchases into
orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platform_assets.simulate.catalog import DayPrices
from platform_assets.simulate.fmt import choice, within_group_index
from platform_assets.simulate.sessions import Sessions

PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD, REMOVE, CHECKOUT, PURCHASE, SIGNUP, LOGIN = range(9)
NO_PRODUCT = -1


@dataclass
class Events:
    """Per-event arrays in time order (ties keep session order)."""

    session: np.ndarray
    kind: np.ndarray
    product: np.ndarray  # catalog row or NO_PRODUCT
    time_ms: np.ndarray
    price: np.ndarray  # NaN where no product
    order: np.ndarray  # order number (purchases only), else -1

    @property
    def size(self) -> int:
        return self.session.size


@dataclass
class Orders:
    """Orders created today, one per purchasing session and currency."""

    number: np.ndarray
    session: np.ndarray
    amount: np.ndarray
    currency: np.ndarray
    created_ms: np.ndarray


def explode(rng: np.random.Generator, sess: Sessions, prices: DayPrices) -> Events:
    """Every event of every session; funnel steps happen in order and carts hold viewed items."""
    blocks = _blocks(rng, sess, prices)
    session, phase, key, sub, kind, product = (np.concatenate(b) for b in zip(*blocks, strict=True))
    # One int64 sort key: session, then phase, then (quantised) random key, then sub-step.
    rank = (((session << 3) | phase) << 24 | (key * (1 << 23)).astype(np.int64)) << 1 | sub
    order = np.argsort(rank, kind="stable")
    session, kind, product = session[order], kind[order], product[order]
    cumulative = np.cumsum(sess.gaps)
    n = sess.n_events
    first = np.cumsum(n) - n
    time_ms = np.repeat(sess.start_ms - cumulative[first], n) + cumulative
    has_product = product != NO_PRODUCT
    safe = np.where(has_product, product, 0)
    price = np.where(has_product, prices.price_at(safe, time_ms), np.nan)
    by_time = np.argsort(time_ms, kind="stable")  # the order in which events reach the server
    columns = (session, kind, product, time_ms, price, np.full(session.size, -1))
    return Events(*(c[by_time] for c in columns))


def _blocks(rng: np.random.Generator, sess: Sessions, prices: DayPrices) -> list[tuple]:
    """(session, phase, key, sub, kind, product) arrays per funnel step."""
    steps, ids = sess.steps, np.arange(sess.size)

    def block(s, phase, kind, key=None, sub=0, product=None):
        size = s.size
        return (
            s,
            np.full(size, phase),
            np.zeros(size) if key is None else key,
            np.full(size, sub),
            np.broadcast_to(kind, size).astype(np.int64),
            np.full(size, NO_PRODUCT) if product is None else product,
        )

    browse_s = np.repeat(ids, steps["browse"])
    browse_kind = np.where(rng.random(browse_s.size) < 0.3, SEARCH, PAGE_VIEW)
    view_s = np.repeat(ids, steps["view"])
    view_j = within_group_index(steps["view"])
    view_key = rng.random(view_s.size)
    view_product = choice(rng, prices.weights, view_s.size)
    carted = view_j < steps["cart"][view_s]  # the first `cart` viewed items go to the cart
    cart_s, cart_j, cart_p = view_s[carted], view_j[carted], view_product[carted]
    removed = (cart_j == 0) & (steps["remove"][cart_s] == 1)
    bought = (cart_j >= steps["remove"][cart_s]) & (steps["purchase"][cart_s] > 0)
    return [
        block(ids[steps["signup"] == 1], 0, SIGNUP),
        block(ids[steps["login"] == 1], 0, LOGIN),
        block(browse_s, 1, browse_kind, key=rng.random(browse_s.size)),
        block(view_s, 1, PRODUCT_VIEW, key=view_key, product=view_product),
        block(cart_s, 1, ADD, key=view_key[carted], sub=1, product=cart_p),
        block(cart_s[removed], 2, REMOVE, product=cart_p[removed]),
        block(ids[steps["checkout"] == 1], 3, CHECKOUT),
        block(cart_s[bought], 4, PURCHASE, product=cart_p[bought]),
    ]


def make_orders(ev: Events, currency_of: np.ndarray, first_number: int) -> Orders:
    """Group each session's purchases by currency into orders; tags purchase events."""
    rows = np.flatnonzero(ev.kind == PURCHASE)
    currency = currency_of[ev.product[rows]]
    keys = ev.session[rows] * 8 + currency
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    ev.order[rows] = first_number + inverse
    # float even on a day without purchases (numpy then returns an empty int64 array)
    totals = np.bincount(inverse, weights=ev.price[rows], minlength=uniq.size).astype(np.float64)
    amount = np.round(totals, 2)
    return Orders(
        number=first_number + np.arange(uniq.size),
        session=uniq // 8,
        amount=amount,
        currency=uniq % 8,
        created_ms=ev.time_ms[rows[first]],
    )
