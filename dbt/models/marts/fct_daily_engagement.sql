-- Daily engagement per app, rebuilt from fct_events and fct_sessions on every run.
with daily_events as (

    select
        event_date                                                  as date,
        app,
        count(distinct user_id)                                     as dau,
        count(*)                                                    as events,
        count(distinct user_id) filter (where event_type = 'purchase') as purchasing_users
    from {{ ref('fct_events') }}
    group by event_date, app

),

daily_sessions as (

    select
        session_date                                                as date,
        app,
        count(*)                                                    as sessions
    from {{ ref('fct_sessions') }}
    group by session_date, app

)

select
    e.date,
    e.app,
    e.dau,
    coalesce(s.sessions, 0)                                         as sessions,
    e.events,
    e.purchasing_users,
    cast(e.purchasing_users as double) / e.dau                      as conversion_rate
from daily_events as e
left join daily_sessions as s
    on s.date = e.date
   and s.app = e.app
