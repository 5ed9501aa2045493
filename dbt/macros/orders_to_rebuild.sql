{#
  The orders an incremental order mart (fct_orders, fct_order_history) replaces: those with a
  version updated in the run window in the lake and, on an incremental run, those with a row of
  the mart updated in the window. A corrected partition may have withdrawn the version that put
  an order there; its other versions then rebuild it as a full build would.
#}
{% macro orders_to_rebuild() -%}
    select order_id from {{ ref('int_orders_in_window') }}
    {%- if is_incremental() %}
    union
    select order_id from {{ this }} where {{ in_window(utc_date('updated_at')) }}
    {%- endif %}
{%- endmacro %}
