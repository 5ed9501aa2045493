{#
  Every version of every order from the FULL order history (not only the run window), with the
  validity interval of each version. Incremental marts pick the orders touched by their window
  from here, so reprocessing an old partition always sees the newer versions too.
#}
with versions as (

    select
        order_id,
        user_id,
        status,
        amount,
        currency,
        created_at,
        updated_at,
        updated_date,
        _ingested_at
    from {{ ref('stg_orders') }}

)

select
    order_id,
    user_id,
    status,
    amount,
    currency,
    created_at,
    updated_at,
    updated_date,
    lead(updated_at) over w                         as valid_to,
    row_number() over w                             as version_number,
    lead(updated_at) over w is null                 as is_current
from versions
window w as (partition by order_id order by updated_at, _ingested_at, status)
