{#
  One row per app event, with the warehouse session it belongs to and that session's start
  (from which fct_sessions is built).
  Incremental: each run deletes the events whose event_date is in [window start, window end] and
  inserts them again from the lake, so a rerun of a partition gives exactly the same table.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        partition_column='event_date',
        on_schema_change='fail',
    )
}}

select
    event_id,
    user_id,
    session_key,
    app,
    event_type,
    event_time,
    event_date,
    product_id,
    price,
    currency,
    session_start
from {{ ref('int_sessionized_events') }}
where {{ in_window('event_date') }}
