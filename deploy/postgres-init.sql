-- MLflow's own database beside Dagster's (run once by the postgres image on an empty volume).
CREATE DATABASE mlflow;
