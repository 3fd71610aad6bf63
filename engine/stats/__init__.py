"""Stats: the figures a city measures itself by.

- `kpi`      KPI facts kept on the case row at every save
- `figures`  `/stats`: SQL aggregates over those facts, overall and grouped, and the agency ranking
"""
