{#
  The data tests of a partitioned model check the run's window, not the whole table.

  A model that names its `partition_column` (and `partition_start_offset`, for a window that
  reaches back) has its rows replaced window by window; the rest of the table was tested by the
  runs that wrote it. dbt wraps the model of every data test in `get_where_subquery`, at
  execution, so each test of such a model reads only
  `<partition_column> BETWEEN <window start + offset> AND <window end>`: a daily run's tests cost
  one day, not the whole history (they grew with every day that was loaded). Without a window
  (a full build) that is the whole table. A row whose partition column is null belongs to no
  window and is read by every test (else `not_null` on that column could never fail); DuckDB
  still prunes by the window (`OR ... IS NULL` is pushed into the scan). A test's own `where`
  config is AND-ed to it.
#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set filters = [] -%}
    {%- for predicate in (partition_window_predicates(tested.config) if tested else []) -%}
        {%- do filters.append('(' ~ predicate ~ ' or ' ~ tested.config.get('partition_column') ~ ' is null)') -%}
    {%- endfor -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (filters | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
