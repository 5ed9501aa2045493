-- One row per user and delivery from the clean lake, typed. No raw PII (email is a keyed hash).
select
    cast(user_id as varchar)                     as user_id,
    cast(email_hash as varchar)                  as email_hash,
    cast(country as varchar)                     as country,
    cast(signup_at as timestamptz)               as signup_at,
    cast(marketing_opt_in as boolean)            as marketing_opt_in,
    cast(_source_file as varchar)                as _source_file,
    cast(_ingested_at as timestamptz)            as _ingested_at,
    cast(_delivery_date as date)                 as _delivery_date
from {{ source('lake', 'clean_users') }}
