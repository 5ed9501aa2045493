{#
  SCD2 / versioned tables: every key has exactly one current row (the column under test is the
  key; `current_column` a boolean flag, default is_current). Fails with the keys that have zero
  or several current rows.
    columns:
      - name: product_id
        data_tests:
          - is_current_unique_per_key:
              arguments: {current_column: is_current}
#}
{% test is_current_unique_per_key(model, column_name, current_column='is_current') %}

select
    {{ column_name }},
    count(*) filter (where {{ current_column }}) as current_rows
from {{ model }}
group by {{ column_name }}
having count(*) filter (where {{ current_column }}) <> 1

{% endtest %}
