-- One row per order version from the clean lake, typed; money as DECIMAL(18,2).
select
    cast(order_id as varchar)                    as order_id,
    cast(user_id as varchar)                     as user_id,
    cast(status as varchar)                      as status,
    cast(amount as decimal(18, 2))               as amount,
    cast(currency as varchar)                    as currency,
    cast(created_at as timestamptz)              as created_at,
    cast(updated_at as timestamptz)              as updated_at,
    {{ utc_date('updated_at') }}                 as updated_date,
    cast(_source_file as varchar)                as _source_file,
    cast(_ingested_at as timestamptz)            as _ingested_at,
    cast(_delivery_date as date)                 as _delivery_date
from {{ source('lake', 'clean_orders') }}
