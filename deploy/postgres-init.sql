-- MLflow's own databases beside Dagster's (run once by the postgres image on an empty volume):
-- its tracking store, and its users and permissions (the basic-auth app).
CREATE DATABASE mlflow;
CREATE DATABASE mlflow_auth;
