{#
  Post-hook of the incremental order marts (fct_orders, fct_order_history): deletes the rows,
  updated in the run window, of orders that no longer have any version in the lake. A corrected
  partition that withdrew an order's only version rebuilds nothing for it, and the
  delete+insert deletes only the keys it inserts, so its row would stay as a full build would
  not have it.
#}
{% macro delete_withdrawn_orders() -%}
    delete from {{ this }} as mart
    where {{ in_window(utc_date('mart.updated_at')) }}
      and not exists (
          select 1 from {{ ref('stg_orders') }} as lake where lake.order_id = mart.order_id
      )
{%- endmacro %}
