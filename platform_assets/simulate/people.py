"""Users: the existing base, daily signups and profile updates, with realistic-looking fake PII."""

from __future__ import annotations

import numpy as np
import polars as pl

from platform_assets.simulate import vocab
from platform_assets.simulate.fmt import MS_PER_DAY, choice, digits, offset_text, pick, utc_text

ACTIVITY_SHAPE = 1.3  # Pareto shape of per-user activity: a long tail of rare visitors
_GROUPS = tuple(vocab.FIRST_NAMES)
_MARKET_GROUP = np.array([_GROUPS.index(m.names) for m in vocab.MARKETS])
DELIVERY_COLUMNS = (
    "user_id",
    "email",
    "full_name",
    "country",
    "signup_at",
    "marketing_opt_in",
    "phone",
)


def base_size(events_per_day: int) -> int:
    """Size of the user base that exists before the first day."""
    return max(200, events_per_day // 4)


def existing_users(rng: np.random.Generator, n: int, start_ms: int) -> pl.DataFrame:
    """Users who signed up in the three years before the start (more of them recently)."""
    days_ago = 1 + 1094 * rng.random(n) ** 1.6
    signup_ms = np.sort(start_ms - (days_ago * MS_PER_DAY).astype(np.int64))
    return new_users(rng, 1, signup_ms)


def new_users(rng: np.random.Generator, first_num: int, signup_ms: np.ndarray) -> pl.DataFrame:
    """Users numbered from first_num, one per signup instant."""
    n = signup_ms.size
    nums = np.arange(first_num, first_num + n)
    market = choice(rng, [m.weight for m in vocab.MARKETS], n)
    first, first_ascii = _names(rng, vocab.FIRST_NAMES, market)
    last, last_ascii = _names(rng, vocab.LAST_NAMES, market)
    offsets = _offsets(rng, market)
    frame = pl.DataFrame(
        {
            "user_id": "usr_" + pl.Series(nums).cast(pl.Utf8).str.zfill(7),
            "num": nums,
            "first": first_ascii,
            "last": last_ascii,
            "email_style": rng.integers(0, 4, n),
            "domain": pick(vocab.EMAIL_DOMAINS, choice(rng, (6, 2, 2, 1, 1), n)),
            "full_name": first + " " + last,
            "country": pick([m.country for m in vocab.MARKETS], market),
            "signup_ms": signup_ms.astype(np.int64),
            "marketing_opt_in": rng.random(n) < 0.4,
            "phone": _phones(rng, market),
            "market": market,
            "locale": pick([m.locale for m in vocab.MARKETS], market),
            "offset_min": offsets,
            "offset": pick([offset_text(m) for m in range(-720, 841)], offsets + 720),
            "app_pref": choice(rng, vocab.APP_WEIGHTS, n),
            "device": rng.integers(0, 6, n),
            "ip": ips(rng, n),
            "activity": (1.0 - rng.random(n)) ** (-1.0 / ACTIVITY_SHAPE),
            "experiment": pick([*vocab.EXPERIMENTS, None], nums % 3),
        }
    )
    return frame.with_columns(_email()).drop("first", "last", "email_style", "domain", "num")


def _names(rng: np.random.Generator, pools: dict[str, str], market: np.ndarray) -> tuple:
    """Display and e-mail forms of names drawn from each market's pool."""
    tokens = [pools[g].split() for g in _GROUPS]
    sizes = np.array([len(t) for t in tokens])
    starts = np.cumsum(sizes) - sizes
    group = _MARKET_GROUP[market]
    idx = starts[group] + (rng.random(market.size) * sizes[group]).astype(np.int64)
    flat = [t for group_tokens in tokens for t in group_tokens]
    return (
        pick([vocab.display_name(t) for t in flat], idx),
        pick([vocab.ascii_slug(t) for t in flat], idx),
    )


def _offsets(rng: np.random.Generator, market: np.ndarray) -> np.ndarray:
    """A UTC offset (minutes) per user, one of the market's offsets."""
    out = np.empty(market.size, dtype=np.int64)
    for m, spec in enumerate(vocab.MARKETS):
        rows = np.flatnonzero(market == m)
        out[rows] = np.asarray(spec.offsets)[rng.integers(0, len(spec.offsets), rows.size)]
    return out


def _email() -> pl.Expr:
    """first.last42@example.com and variants; the user number keeps them unique."""
    num = pl.col("num").cast(pl.Utf8)
    first, last = pl.col("first"), pl.col("last")
    style = pl.col("email_style")
    local = (
        pl.when(style == 0)
        .then(pl.concat_str(first, pl.lit("."), last, num))
        .when(style == 1)
        .then(pl.concat_str(first.str.slice(0, 1), last, num))
        .when(style == 2)
        .then(pl.concat_str(first, pl.lit("_"), num))
        .otherwise(pl.concat_str(last, pl.lit("."), first, num))
    )
    return pl.concat_str(local, pl.lit("@"), pl.col("domain")).alias("email")


def _phones(rng: np.random.Generator, market: np.ndarray) -> pl.Series:
    """Country-formatted phone numbers in fictional ranges; about 12% of users have none."""
    parts = [pl.DataFrame({"row": [], "phone": []}, schema={"row": pl.Int64, "phone": pl.Utf8})]
    for m, spec in enumerate(vocab.MARKETS):
        rows = np.flatnonzero(market == m)
        parts.append(pl.DataFrame({"row": rows, "phone": digits(rng, spec.phone, rows.size)}))
    phones = pl.concat(parts).sort("row")["phone"]
    missing = pl.Series(rng.random(market.size) < 0.12)
    return pl.select(pl.when(missing).then(None).otherwise(phones)).to_series().alias("phone")


def ips(rng: np.random.Generator, n: int) -> pl.Series:
    """Public-looking IPv4 addresses."""
    octets = [pick(vocab.IP_FIRST_OCTETS, rng.integers(0, len(vocab.IP_FIRST_OCTETS), n))]
    octets += [pl.Series(rng.integers(lo, 255, n)).cast(pl.Utf8) for lo in (0, 0, 1)]
    return pl.select(pl.concat_str(octets, separator=".")).to_series()


def update_profiles(rng: np.random.Generator, users: pl.DataFrame, n_existing: int) -> tuple:
    """A few existing users change country or marketing opt-in; returns (users, changed rows)."""
    k = min(n_existing, max(1, rng.poisson(0.001 * n_existing)))
    rows = np.sort(rng.choice(n_existing, k, replace=False))
    moves = rng.random(k) < 0.3
    countries = [m.country for m in vocab.MARKETS]
    new_country = pick(countries, rng.integers(0, len(countries), k))
    old = users[rows]
    country = pl.select(
        pl.when(pl.Series(moves) & (new_country != old["country"]))
        .then(new_country)
        .otherwise(old["country"])
    ).to_series()
    opt_in = old["marketing_opt_in"] ^ pl.Series(~moves)
    users = users.with_columns(
        users["country"].scatter(rows, country),
        users["marketing_opt_in"].scatter(rows, opt_in),
    )
    return users, rows


def delivery(users: pl.DataFrame) -> pl.DataFrame:
    """User records as delivered in users.jsonl."""
    return users.with_columns(utc_text(pl.col("signup_ms")).alias("signup_at")).select(
        DELIVERY_COLUMNS
    )
