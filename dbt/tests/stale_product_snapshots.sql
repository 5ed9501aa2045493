{{ config(severity='warn') }}
{#
  Catalog snapshot rows whose updated_at is older than one already seen for the product (an old
  catalog delivered again): dim_products leaves them out. A warning with their count.
#}
select product_id, snapshot_date, updated_at, newest_updated_at_before
from (
    select
        product_id,
        snapshot_date,
        updated_at,
        {{ newest_updated_at_before() }} as newest_updated_at_before
    from {{ ref('stg_products') }}
)
where updated_at < newest_updated_at_before
