-- One row per product and daily catalog snapshot from the clean lake, typed; money as DECIMAL(18,2).
select
    cast(product_id as varchar)                  as product_id,
    cast(name as varchar)                        as name,
    cast(category as varchar)                    as category,
    cast(price as decimal(18, 2))                as price,
    cast(currency as varchar)                    as currency,
    cast(active as boolean)                      as active,
    cast(updated_at as timestamptz)              as updated_at,
    cast(snapshot_date as date)                  as snapshot_date,
    cast(_source_file as varchar)                as _source_file,
    cast(_ingested_at as timestamptz)            as _ingested_at,
    cast(_delivery_date as date)                 as _delivery_date
from {{ source('lake', 'clean_products') }}
