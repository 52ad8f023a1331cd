"""Programs the topology runs inside its namespaces in place of the real daemons."""
