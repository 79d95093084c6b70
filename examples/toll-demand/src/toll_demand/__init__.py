"""toll_demand: daily vehicle counts per toll plaza, the devops-mlops example project's own code."""
