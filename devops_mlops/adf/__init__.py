"""Azure Data Factory: the lifecycle exported as Data Factory JSON / an ARM template, and deployed.

``export``: pure generation (job definitions + monitoring config -> resources);
``schedule``: 5-field cron -> ScheduleTrigger recurrence; ``validate``: Data Factory's
rules (real type names, nesting limits, references) checked over the generated JSON;
``arm``: the ARM template; ``files``: the Git-integration folder; ``deploy``: the factory
through ``DataFactoryManagementClient``.
"""
