{#
  One row per order in its latest state.
  Incremental (unique_key order_id): each run replaces every order with a version updated in
  [window start, window end] by its latest version over the FULL order history, so rerunning an old
  partition can never roll an order back to an older state.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        post_hook='{{ delete_withdrawn_orders() }}',
    )
}}

select
    v.order_id,
    v.user_id,
    v.status,
    v.amount,
    v.currency,
    v.created_at,
    v.updated_at,
    {{ utc_date('v.created_at') }}          as created_date,
    v.status = 'refunded'                   as is_refunded,
    v.status = 'cancelled'                  as is_cancelled
from {{ ref('int_order_versions') }} as v
where v.is_current
  and v.order_id in ({{ orders_to_rebuild() }})
