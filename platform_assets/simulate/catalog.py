"""The product catalog: Zipf-like popularity, daily price changes, additions and deactivations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from platform_assets.simulate import vocab
from platform_assets.simulate.fmt import MS_PER_DAY, choice, prefixed, utc_text

ZIPF_EXPONENT = 1.1
_CATEGORY_NAMES = tuple(vocab.CATEGORIES)
_MEDIANS = np.array([median for median, _ in vocab.CATEGORIES.values()])
_NOUNS = [words.split("|") for _, words in vocab.CATEGORIES.values()]


@dataclass
class Catalog:
    """Current state of every product ever listed (arrays indexed by product row)."""

    names: list[str]
    category: np.ndarray
    price: np.ndarray
    currency: np.ndarray
    active: np.ndarray
    updated_ms: np.ndarray
    popularity: np.ndarray

    @property
    def size(self) -> int:
        return len(self.names)

    def product_ids(self) -> pl.Series:
        return prefixed("P", np.arange(1, self.size + 1), 6)


@dataclass(frozen=True)
class DayPrices:
    """What events of one day may reference: view weights and the price before/after a change."""

    weights: np.ndarray
    old_price: np.ndarray
    new_price: np.ndarray
    change_ms: np.ndarray

    def price_at(self, product: np.ndarray, ms: np.ndarray) -> np.ndarray:
        """Each product's price at the given instant."""
        changed = ms >= self.change_ms[product]
        return np.where(changed, self.new_price[product], self.old_price[product])


def catalog_size(events_per_day: int) -> int:
    """About 200 products for small runs, up to 2000 at a million events a day."""
    return int(np.clip(events_per_day // 500, 200, 2000))


def new_catalog(rng: np.random.Generator, n: int, start_ms: int) -> Catalog:
    """The catalog as it stands before the first simulated day."""
    cat = _new_products(rng, n, n)
    age_days = rng.uniform(1, 400, n)
    cat.updated_ms = start_ms - (age_days * MS_PER_DAY).astype(np.int64)
    cat.active = rng.random(n) >= 0.05
    return cat


def _new_products(rng: np.random.Generator, n: int, catalog_n: int) -> Catalog:
    category = rng.integers(0, len(_CATEGORY_NAMES), n)
    brand = rng.integers(0, len(vocab.BRANDS), n)
    adjective = rng.integers(0, len(vocab.ADJECTIVES), n)
    noun = rng.integers(0, 1000, n)
    names = [
        f"{vocab.BRANDS[b]} {vocab.ADJECTIVES[a]} {_NOUNS[c][k % len(_NOUNS[c])]}"
        for b, a, c, k in zip(brand, adjective, category, noun, strict=True)
    ]
    rank = rng.permutation(n) if n == catalog_n else rng.integers(0, catalog_n, n)
    return Catalog(
        names=names,
        category=category,
        price=_shelf_price(_MEDIANS[category] * rng.lognormal(0.0, 0.5, n)),
        currency=choice(rng, vocab.CURRENCY_WEIGHTS, n),
        active=np.ones(n, dtype=bool),
        updated_ms=np.zeros(n, dtype=np.int64),
        popularity=1.0 / (rank + 1.0) ** ZIPF_EXPONENT,
    )


def _shelf_price(raw: np.ndarray) -> np.ndarray:
    """Prices ending in .99 (at least 0.99)."""
    return np.round(np.maximum(np.floor(raw), 0) + 0.99, 2)


def apply_day(cat: Catalog, rng: np.random.Generator, day_ms: int) -> DayPrices:
    """Today's catalog changes; returns what today's events see."""
    old_price = cat.price.copy()
    change_ms = np.full(cat.size, np.iinfo(np.int64).max, dtype=np.int64)
    viewable = cat.active.copy()
    active_rows = np.flatnonzero(cat.active)
    n_changes = min(active_rows.size, max(1, rng.poisson(0.01 * active_rows.size)))
    changed = rng.choice(active_rows, n_changes, replace=False)
    new_price = _shelf_price(old_price[changed] * rng.uniform(0.8, 1.2, n_changes))
    cat.price[changed] = np.where(new_price == old_price[changed], new_price + 1.0, new_price)
    cat.price[changed] = np.round(cat.price[changed], 2)
    change_ms[changed] = day_ms + rng.integers(0, MS_PER_DAY, n_changes)
    cat.updated_ms[changed] = change_ms[changed]
    if rng.random() < 0.25 and active_rows.size > 1:
        gone = rng.choice(active_rows)
        cat.active[gone] = False
        cat.updated_ms[gone] = max(cat.updated_ms[gone], day_ms + rng.integers(0, MS_PER_DAY))
        viewable[gone] = False
    prices = DayPrices(
        weights=np.where(viewable, cat.popularity, 0.0),
        old_price=old_price,
        new_price=cat.price.copy(),
        change_ms=change_ms,
    )
    if rng.random() < 0.3:
        _add_products(cat, rng, 1 + rng.poisson(0.5), day_ms)
    return prices


def _add_products(cat: Catalog, rng: np.random.Generator, n: int, day_ms: int) -> None:
    """List new products (viewable from the next day)."""
    new = _new_products(rng, n, cat.size)
    new.updated_ms = day_ms + rng.integers(0, MS_PER_DAY, n)
    cat.names += new.names
    for field in ("category", "price", "currency", "active", "updated_ms", "popularity"):
        setattr(cat, field, np.concatenate([getattr(cat, field), getattr(new, field)]))


def snapshot(cat: Catalog) -> pl.DataFrame:
    """The full catalog as delivered in products.csv."""
    return pl.DataFrame(
        {
            "product_id": cat.product_ids(),
            "name": cat.names,
            "category": pl.Series(_CATEGORY_NAMES).gather(pl.Series(cat.category)),
            "price": cat.price,
            "currency": pl.Series(vocab.CURRENCIES).gather(pl.Series(cat.currency)),
            "active": cat.active,
            "updated_at": cat.updated_ms,
        }
    ).with_columns(utc_text(pl.col("updated_at")))
