-- Runs once, when the PostgreSQL volume is created: the warehouse lives beside Airflow's metadata DB.
CREATE DATABASE warehouse OWNER airflow;
