"""The warehouse: schema (:mod:`.schema`), engines (:mod:`.engine`), migrations (:mod:`.migrate`),
set-based reads and writes (:mod:`.store`) and the Airflow hook (:mod:`.hook`)."""
