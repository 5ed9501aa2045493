{#
  One row per session (see int_sessionized_events for the rule), from fct_events, which carries
  each event's session_key and session_start.
  Incremental: each run deletes and rebuilds the sessions whose session_date is in
  [window start - 1 day, window end]. Also replacing the day before the window completes the sessions
  that started before midnight and continued into the window, which the previous day's run could
  not see yet (its events on the next day had not arrived). Rebuilt sessions are computed from
  the events dated [window start - 2 days, window end + 1 day]: every event of a session shorter
  than 24 hours. As each event keeps its session's start, a session read in part (its first day
  not loaded yet) is still dated right, and the run of that day replaces it whole.
  Money is never added across currencies: revenue is in the currency of most of the session's
  priced purchases (ties to the first code), and the purchases in other currencies are counted.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        partition_column='session_date',
        partition_start_offset=-1,
        on_schema_change='fail',
    )
}}

with events as (

    select *, {{ utc_date('session_start') }} as session_date
    from {{ ref('fct_events') }}
    where {{ in_window('event_date', start_offset=-2, end_offset=1) }}

),

sessions as (

    select
        session_key,
        user_id,
        app,
        session_start,
        max(event_time)                                                       as session_end,
        session_date,
        cast(epoch_us(max(event_time)) - epoch_us(session_start) as double) / 1e6 as duration_seconds,
        count(*)                                                              as events,
        count(*) filter (where event_type = 'page_view')                      as page_views,
        count(*) filter (where event_type = 'product_view')                   as product_views,
        count(*) filter (where event_type = 'add_to_cart')                    as add_to_carts,
        bool_or(event_type = 'checkout_started')                              as has_checkout,
        bool_or(event_type = 'purchase')                                      as has_purchase
    from events
    where {{ in_window('session_date', start_offset=-1) }}
    group by session_key, user_id, app, session_start, session_date

),

purchases_by_currency as (

    select session_key, currency, count(*) as purchases, sum(price) as amount
    from events
    where event_type = 'purchase'
        and price is not null
        and {{ in_window('session_date', start_offset=-1) }}
    group by session_key, currency

),

-- the currency of most priced purchases, ties to the first code
session_revenue as (

    select
        session_key,
        first(currency order by purchases desc, currency)                    as revenue_currency,
        first(amount order by purchases desc, currency)                      as revenue,
        sum(purchases) - first(purchases order by purchases desc, currency)  as other_currency_purchases
    from purchases_by_currency
    group by session_key

)

select
    sessions.*,
    session_revenue.revenue_currency,
    cast(coalesce(session_revenue.revenue, 0) as decimal(18, 2))          as revenue,
    cast(coalesce(session_revenue.other_currency_purchases, 0) as bigint) as other_currency_purchases
from sessions
left join session_revenue using (session_key)
