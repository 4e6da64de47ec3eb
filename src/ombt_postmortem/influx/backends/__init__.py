"""The InfluxDB 1.x servers a run's restored data is served by, one per run.

- :mod:`.choose`: ``influx.backend`` (``auto``, ``native``, ``docker``) resolved, and
  :func:`~.choose.open_server`, the one entry of the stage;
- :mod:`.native`: Debian's ``influxd``, a child process with a generated config;
- :mod:`.docker`: the same server in a container (Docker SDK, Docker or Podman);
- :mod:`.server`: what every backend shares: the resources of one server
  (:class:`~.server.Limits`) and the handle of a running one;
- :mod:`.ready`: free ports, and the wait until a server answers (or its failure,
  quoting its log).
"""
