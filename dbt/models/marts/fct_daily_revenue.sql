-- Daily order revenue per currency by order creation date, rebuilt from fct_orders (latest state).
select
    created_date                                                            as date,
    currency,
    count(*) filter (where not is_cancelled)                                as orders,
    cast(coalesce(sum(amount) filter (where not is_cancelled), 0) as decimal(18, 2))
                                                                            as gross_revenue,
    cast(coalesce(sum(amount) filter (where is_refunded), 0) as decimal(18, 2))
                                                                            as refunds,
    cast(
        coalesce(sum(amount) filter (where not is_cancelled), 0)
        - coalesce(sum(amount) filter (where is_refunded), 0)
        as decimal(18, 2)
    )                                                                       as net_revenue
from {{ ref('fct_orders') }}
group by created_date, currency
