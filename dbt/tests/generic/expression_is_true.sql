{#
  Model-level: fails for every row where the SQL boolean `expression` is not true.
    data_tests:
      - expression_is_true:
          arguments: {expression: "session_end >= session_start"}
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
