{#
  Fails for every row where the column is negative (NULLs pass; pair with not_null if needed).
    data_tests: [non_negative]
#}
{% test non_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
