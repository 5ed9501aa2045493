{#
  The newest updated_at of the product's earlier catalog snapshots: a row older than it is a
  stale copy (an old catalog delivered again). Used by dim_products and its warning test.
#}
{% macro newest_updated_at_before() %}
    max(updated_at) over (
        partition by product_id
        order by snapshot_date
        rows between unbounded preceding and 1 preceding
    )
{% endmacro %}
