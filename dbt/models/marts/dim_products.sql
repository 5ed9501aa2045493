{#
  SCD type 2 product history, rebuilt from ALL daily catalog snapshots on every run
  (deterministic: the same snapshots always give the same table). See the YAML for the rule.
#}
with received as (

    select *, {{ newest_updated_at_before() }} as newest_updated_at_before
    from {{ ref('stg_products') }}

),

-- A snapshot row whose updated_at is older than one already seen for the product is a stale
-- copy (an old catalog delivered again), not a change back: it is left out (the data test
-- stale_product_snapshots counts them).
snapshots as (

    select
        product_id,
        snapshot_date,
        name,
        category,
        price,
        currency,
        active,
        updated_at,
        lag(snapshot_date) over w   as previous_snapshot_date,
        lag(name) over w            as previous_name,
        lag(category) over w        as previous_category,
        lag(price) over w           as previous_price,
        lag(currency) over w        as previous_currency,
        lag(active) over w          as previous_active
    from received
    where newest_updated_at_before is null or updated_at >= newest_updated_at_before
    window w as (partition by product_id order by snapshot_date)

),

flagged as (

    select
        *,
        case
            when previous_snapshot_date is null then 1
            when name is distinct from previous_name
              or category is distinct from previous_category
              or price is distinct from previous_price
              or currency is distinct from previous_currency
              or active is distinct from previous_active then 1
            else 0
        end as is_new_version
    from snapshots

),

numbered as (

    select
        *,
        sum(is_new_version) over (
            partition by product_id
            order by snapshot_date
            rows between unbounded preceding and current row
        ) as version_number
    from flagged

),

versions as (

    select
        product_id,
        version_number,
        arg_min(name, snapshot_date)        as name,
        arg_min(category, snapshot_date)    as category,
        arg_min(price, snapshot_date)       as price,
        arg_min(currency, snapshot_date)    as currency,
        arg_min(active, snapshot_date)      as active,
        arg_min(updated_at, snapshot_date)  as first_updated_at,
        min(snapshot_date)                  as first_snapshot_date,
        max(snapshot_date)                  as last_snapshot_date
    from numbered
    group by product_id, version_number

),

-- A day's snapshot is the catalog at the end of that day (it holds the day's changes): a version
-- began after the previous version's last snapshot day ended and before its own first one did.
bounded as (

    select
        *,
        {{ utc_midnight('first_snapshot_date') }} as first_day_start,
        {{ utc_midnight('first_snapshot_date + 1') }} as first_day_end,
        {{ utc_midnight('lag(last_snapshot_date) over (partition by product_id order by version_number) + 1') }}
            as previous_version_last_day_end
    from versions

),

valid_from as (

    select
        *,
        case
            when previous_version_last_day_end is null  -- the first version: what came before is unknown
                then case when first_updated_at < first_day_start then first_updated_at else first_day_start end
            when first_updated_at >= previous_version_last_day_end and first_updated_at < first_day_end
                then first_updated_at
            else first_day_start
        end as valid_from
    from bounded

)

select
    product_id,
    name,
    category,
    price,
    currency,
    active,
    valid_from,
    lead(valid_from) over (partition by product_id order by version_number)           as valid_to,
    lead(valid_from) over (partition by product_id order by version_number) is null   as is_current
from valid_from
