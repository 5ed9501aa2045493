{#
  One row per order version with its validity interval [updated_at, valid_to).
  Incremental (unique_key order_id): each run deletes and re-inserts ALL versions of every order
  with a version updated in [window start, window end], with valid_to computed from the order's full
  history. So the previous version's valid_to is closed when a new version arrives, and rerunning
  an old partition never reopens it.
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
    v.valid_to,
    v.is_current
from {{ ref('int_order_versions') }} as v
where v.order_id in ({{ orders_to_rebuild() }})
