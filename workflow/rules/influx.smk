# Stage 2, one job per run: restore the run's InfluxDB backup and query it.
# (wired in by the InfluxDB stage)
INFLUX_ENABLED = False
