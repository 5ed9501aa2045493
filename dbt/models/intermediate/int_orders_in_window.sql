-- Orders with at least one version whose updated_date is in the run window [window start, window end].
-- Ephemeral, compiled into the order marts that read it: a view would keep the window of the run
-- that created it, and a mart materialized alone would rebuild another window's orders.
{{ config(materialized='ephemeral') }}
select distinct order_id
from {{ ref('stg_orders') }}
where {{ in_window('updated_date') }}
