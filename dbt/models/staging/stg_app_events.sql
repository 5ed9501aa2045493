-- One row per app event from the clean lake, typed; money as DECIMAL(18,2).
-- Dated by event_date: its data tests check the run's window (macros/test_window.sql).
{{ config(partition_column='event_date') }}
select
    cast(event_id as varchar)                    as event_id,
    cast(user_id as varchar)                     as user_id,
    cast(session_id as varchar)                  as session_id,
    cast(app as varchar)                         as app,
    cast(event_type as varchar)                  as event_type,
    cast(event_time as timestamptz)              as event_time,
    cast(event_date as date)                     as event_date,
    cast(product_id as varchar)                  as product_id,
    cast(price as decimal(18, 2))                as price,
    cast(currency as varchar)                    as currency,
    cast(properties as varchar)                  as properties,
    cast(email_hash as varchar)                  as email_hash,
    cast(ip_hash as varchar)                     as ip_hash,
    cast(user_agent as varchar)                  as user_agent,
    cast(locale as varchar)                      as locale,
    cast(_source_file as varchar)                as _source_file,
    cast(_ingested_at as timestamptz)            as _ingested_at,
    cast(_delivery_date as date)                 as _delivery_date
from {{ source('lake', 'clean_app_events') }}
