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
  The values are validated here, so a bad window (not a date, or a start after the end, which
  would delete and insert nothing and still succeed) fails the run with a clear message.
#}
{% macro window_date(bound, offset_days=0) -%}
    {%- if not execute -%}
        {#- Parsing: the window is not known yet. Render something that is not a date, so SQL
            kept from parse time (a window in config()) fails at execution instead of silently
            covering every day. -#}
        DATE 'window-unknown-at-parse-time'
    {%- else -%}
        {%- set start, end = window_bound('start'), window_bound('end') -%}
        {%- if start > end -%}
            {{ exceptions.raise_compiler_error(
                "PLATFORM_WINDOW_START (" ~ start.isoformat() ~ ") is after PLATFORM_WINDOW_END ("
                ~ end.isoformat() ~ "): the window holds no day") }}
        {%- endif -%}
        {%- set shifted = (start if bound == 'start' else end)
            + modules.datetime.timedelta(days=offset_days) -%}
        DATE '{{ shifted.isoformat() }}'
    {%- endif -%}
{%- endmacro %}

{# One bound of the window as a date, from its env var (default: everything). #}
{% macro window_bound(bound) -%}
    {%- set name = 'PLATFORM_WINDOW_' ~ (bound | upper) -%}
    {%- set default = '1900-01-01' if bound == 'start' else '2999-12-31' -%}
    {%- set raw = env_var(name, default) | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
        {{ exceptions.raise_compiler_error(name ~ " must be an ISO date YYYY-MM-DD, got: " ~ raw) }}
    {%- endif -%}
    {{ return(modules.datetime.date(raw[0:4] | int, raw[5:7] | int, raw[8:10] | int)) }}
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
