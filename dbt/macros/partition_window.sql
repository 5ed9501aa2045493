{#
  The partition window of a run: env vars `PLATFORM_WINDOW_START` and `PLATFORM_WINDOW_END`,
  inclusive ISO dates, set by Dagster for each run (default: everything).

  They are read only while executing (`execute`), never while parsing: a value dbt sees at parse
  time is recorded in the manifest, and a new window on every run would then re-parse the
  project each time (2 s and growing). So the window must never reach a model's `config()`,
  which is rendered at parse time (it would render as an invalid date and fail the run):
  incremental models name their `partition_column` instead and the delete+insert macro (run at
  execution) builds the predicate from it.

  window_date('end', offset_days=1) renders a DuckDB DATE literal such as `DATE '2024-01-02'`.
  The value is validated here, so a bad window fails the run with a clear message.
#}
{% macro window_date(bound, offset_days=0) -%}
    {%- if not execute -%}
        {#- Parsing: the window is not known yet. Render something that is not a date, so SQL
            kept from parse time (a window in config()) fails at execution instead of silently
            covering every day. -#}
        DATE 'window-unknown-at-parse-time'
    {%- else -%}
        {%- set name = 'PLATFORM_WINDOW_' ~ (bound | upper) -%}
        {%- set default = '1900-01-01' if bound == 'start' else '2999-12-31' -%}
        {%- set raw = env_var(name, default) | string | trim -%}
        {%- set parsed = none -%}
        {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
            {%- set parsed = modules.datetime.date(raw[0:4] | int, raw[5:7] | int, raw[8:10] | int) -%}
        {%- endif -%}
        {%- if parsed is none -%}
            {{ exceptions.raise_compiler_error(name ~ " must be an ISO date YYYY-MM-DD, got: " ~ raw) }}
        {%- endif -%}
        {%- set shifted = parsed + modules.datetime.timedelta(days=offset_days) -%}
        DATE '{{ shifted.isoformat() }}'
    {%- endif -%}
{%- endmacro %}

{% macro window_start(offset_days=0) -%}
    {{ window_date('start', offset_days) }}
{%- endmacro %}

{% macro window_end(offset_days=0) -%}
    {{ window_date('end', offset_days) }}
{%- endmacro %}

{# `<column> BETWEEN <window start + start_offset> AND <window end + end_offset>` for a DATE column. #}
{% macro in_window(column, start_offset=0, end_offset=0) -%}
    {{ column }} BETWEEN {{ window_start(start_offset) }} AND {{ window_end(end_offset) }}
{%- endmacro %}

{# UTC calendar date of a TIMESTAMPTZ, independent of the session TimeZone. #}
{% macro utc_date(ts) -%}
    CAST(timezone('UTC', {{ ts }}) AS DATE)
{%- endmacro %}

{# TIMESTAMPTZ for 00:00 UTC of a DATE, independent of the session TimeZone. #}
{% macro utc_midnight(d) -%}
    timezone('UTC', CAST({{ d }} AS TIMESTAMP))
{%- endmacro %}
