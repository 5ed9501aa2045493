{#
  Validity intervals must be non-empty: fails for every row where the end column (`to_column`,
  nullable = open-ended) is not strictly after the column under test.
    columns:
      - name: valid_from
        data_tests:
          - valid_date_range:
              arguments: {to_column: valid_to}
#}
{% test valid_date_range(model, column_name, to_column) %}

select {{ column_name }}, {{ to_column }}
from {{ model }}
where {{ column_name }} is null
   or ({{ to_column }} is not null and {{ to_column }} <= {{ column_name }})

{% endtest %}
