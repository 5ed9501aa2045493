{#
  Latest attributes per user, rebuilt from all user deliveries: the row with the latest
  _delivery_date wins, then the latest _ingested_at (then _source_file, for determinism).
#}
with ranked as (

    select
        *,
        row_number() over (
            partition by user_id
            order by _delivery_date desc, _ingested_at desc, _source_file desc
        )                                               as recency_rank,
        min(_delivery_date) over (partition by user_id) as first_seen_date
    from {{ ref('stg_users') }}

)

select
    user_id,
    email_hash,
    country,
    signup_at,
    {{ utc_date('signup_at') }}     as signup_date,
    marketing_opt_in,
    first_seen_date,
    _delivery_date                  as updated_date
from ranked
where recency_rank = 1
