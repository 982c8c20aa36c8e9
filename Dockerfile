# One image for every service of docker-compose.yaml.
#   target "airflow": Airflow's official image at the version requirements.txt pins, plus the product's
#                     requirements (same pins as `make demo`: requirements.txt + constraints.txt) and
#                     the erpsync package installed editable from /opt/erpsync/include (mounted).
#   target "sandbox": the above plus the sandbox systems' own environments (Tryton ERP, store emulator).
FROM apache/airflow:3.3.2-python3.11 AS airflow
USER airflow
WORKDIR /opt/erpsync
COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml ./
COPY --chown=airflow:root include ./include
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt \
 && pip install --no-cache-dir --no-deps -e . \
 && pip check

FROM airflow AS sandbox
COPY --chown=airflow:root requirements-dev.txt ./
COPY --chown=airflow:root sandbox/tryton/requirements.txt ./sandbox/tryton/requirements.txt
RUN pip install --no-cache-dir -r requirements-dev.txt -c constraints.txt \
 && python -m venv .venv-erp \
 && .venv-erp/bin/pip install --no-cache-dir -r sandbox/tryton/requirements.txt \
 && .venv-erp/bin/pip check
COPY --chown=airflow:root sandbox ./sandbox
