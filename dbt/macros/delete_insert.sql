{#
  Override of dbt-duckdb's delete+insert so that an incremental model can replace a whole
  partition window.

  dbt's delete+insert only deletes when `unique_key` is set (rows whose key appears in the new
  data); without a unique_key it silently appends. Here, a model with NO unique_key that names
  its `partition_column` first deletes every target row of the run's partition window, then
  inserts the new rows:

      config(materialized='incremental', incremental_strategy='delete+insert',
             partition_column='session_date', partition_start_offset=-1)

  -> DELETE FROM target WHERE session_date BETWEEN <window start - 1> AND <window end>;
     INSERT INTO target SELECT ... FROM tmp

  The predicate is built here, at execution, because the window is known only then (see
  macros/partition_window.sql); `incremental_predicates` from config are AND-ed to it. So rows
  of the window that are no longer produced (e.g. a lake partition that was corrected)
  disappear too, and rerunning a window gives exactly the same table. With a unique_key the
  behaviour is dbt-duckdb's, unchanged (delete matching keys, AND-ed with the predicates). A
  model with both, or with neither (which would append duplicates on every run), fails.
#}
{# The window predicate of a model from its config (`config`, or a graph node's config dict):
   [] when it names no `partition_column`. Also used by macros/test_window.sql. #}
{% macro partition_window_predicates(model_config) -%}
    {%- set column = model_config.get('partition_column') -%}
    {%- if not column -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return([in_window(column, start_offset=model_config.get('partition_start_offset', 0))]) }}
{%- endmacro %}

{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}

    {%- if unique_key and config.get('partition_column') -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": set unique_key or partition_column, not both") }}
    {%- endif -%}
    {%- set incremental_predicates = partition_window_predicates(config) + (incremental_predicates or []) -%}
    {%- if not unique_key and not incremental_predicates -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": delete+insert needs a unique_key or a partition_column; without either every run would append duplicates") }}
    {%- endif -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    {% if unique_key %}
        {% if unique_key is sequence and unique_key is not string %}
            delete from {{ target }} as DBT_INCREMENTAL_TARGET
            using {{ source }}
            where (
                {% for key in unique_key %}
                    {{ source }}.{{ key }} = DBT_INCREMENTAL_TARGET.{{ key }}
                    {{ "and " if not loop.last }}
                {% endfor %}
                {% if incremental_predicates %}
                    {% for predicate in incremental_predicates %}
                        and {{ predicate }}
                    {% endfor %}
                {% endif %}
            );
        {% else %}
            delete from {{ target }}
            where (
                {{ unique_key }}) in (
                select ({{ unique_key }})
                from {{ source }}
            )
            {%- if incremental_predicates %}
                {% for predicate in incremental_predicates %}
                    and {{ predicate }}
                {% endfor %}
            {%- endif -%};
        {% endif %}
    {% elif incremental_predicates %}
        delete from {{ target }}
        where
        {% for predicate in incremental_predicates %}
            ({{ predicate }}){{ " and" if not loop.last }}
        {% endfor %};
    {% endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )

{%- endmacro %}
