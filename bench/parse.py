"""DAG parse time: each DAG file parsed in a fresh interpreter that has Airflow loaded, as the DAG
processor does, so that each file pays for its own imports; the median of ``repeats`` parses per file."""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys

from tests.integrity.test_dags import PARSE_PROBE, dag_files

log = logging.getLogger("bench.parse")


def parse_seconds(path, repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        result = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(path)], capture_output=True, text=True,
                                check=True, env=os.environ)
        seconds.append(float(result.stdout.strip().splitlines()[-1]))
    return seconds


def run(quick: bool = False) -> dict:
    repeats = 3 if quick else 7
    per_file = {}
    for path in dag_files():
        per_file[path.name] = round(statistics.median(parse_seconds(path, repeats)), 4)
        log.info("%s: %.3f s (median of %d)", path.name, per_file[path.name], repeats)
    return {"dag_parse_s_max": max(per_file.values()), "details": {"dag_parse_s": per_file, "repeats": repeats}}
