-- Orders with at least one version whose updated_date is in the run window [min_date, max_date].
select distinct order_id
from {{ ref('stg_orders') }}
where {{ in_window('updated_date') }}
