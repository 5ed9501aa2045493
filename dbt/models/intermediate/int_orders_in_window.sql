-- Orders with at least one version whose updated_date is in the run window [window start, window end].
select distinct order_id
from {{ ref('stg_orders') }}
where {{ in_window('updated_date') }}
