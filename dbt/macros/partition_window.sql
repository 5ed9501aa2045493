{#
  The partition window of a run: vars `min_date` and `max_date`, inclusive ISO dates.

  window_date('min_date', offset_days=-1) renders a DuckDB DATE literal such as
  `DATE '2024-01-01'`. The value is validated here, so a bad var fails the run with a clear
  message instead of producing wrong SQL.
#}
{% macro window_date(var_name, offset_days=0) -%}
    {%- set raw = var(var_name) | string | trim -%}
    {%- set parsed = none -%}
    {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
        {%- set parsed = modules.datetime.date(raw[0:4] | int, raw[5:7] | int, raw[8:10] | int) -%}
    {%- endif -%}
    {%- if parsed is none -%}
        {{ exceptions.raise_compiler_error("var '" ~ var_name ~ "' must be an ISO date YYYY-MM-DD, got: " ~ raw) }}
    {%- endif -%}
    {%- set shifted = parsed + modules.datetime.timedelta(days=offset_days) -%}
    DATE '{{ shifted.isoformat() }}'
{%- endmacro %}

{% macro window_start(offset_days=0) -%}
    {{ window_date('min_date', offset_days) }}
{%- endmacro %}

{% macro window_end(offset_days=0) -%}
    {{ window_date('max_date', offset_days) }}
{%- endmacro %}

{# `<column> BETWEEN <min_date + start_offset> AND <max_date + end_offset>` for a DATE column. #}
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
