"""Small ports, one per outside system. The core and the use cases talk only to
these; adapters in ``devops_mlops.adapters`` implement them for the embedded
default and for Databricks / Azure DevOps."""
