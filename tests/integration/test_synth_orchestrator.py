"""``synth --layout orchestrator``: what ombt-orchestrator 1.1.x backs up, on a real influxd.

The expectations are written here from upstream's files (msimonin/ombt-orchestrator
406c79b: telegraf.conf.j2, influxdb/tasks/deploy.yml, rabbitmq and qdr roles,
tasks.py; ajssmith/collectd-qdrouterd collectd_plugin.py; InfluxDB's collectd
service; enoslib's tc_validate.yml) and from the controller's JSON of each run,
never from the generator's code: the backups are queried with raw InfluxQL on an
influxd started with a hand-written config (``influx_helpers.reference_server``).
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from conftest import REPO
from influx_helpers import influx_test, points, reference_server
from synth_golden import digests

from ombt_postmortem.cli import main
from ombt_postmortem.synth import SynthSpec, simulate_campaign, synth_campaign

GOLDEN = REPO / "tests" / "support" / "data" / "synth_default_golden.json"
NS = 10**9

#: upstream's Telegraf inputs (telegraf.conf.j2) that synth writes, plus the collectd ones
TELEGRAF = {"cpu", "mem", "system", "net", "docker", "docker_container_cpu",
            "docker_container_mem"}
RABBIT = {"rabbitmq_overview", "rabbitmq_node"}
COLLECTD = {"router_value", "link_value", "address_value"}
#: the types the orchestrator's types.db defines for each collectd-qdrouterd plugin
ROUTER_TYPES = {"link-route-count", "auto-link-count", "link-count", "node-count", "addr-count",
                "connection-count", "deliveries-ingress", "deliveries-egress",
                "deliveries-transit"}
LINK_TYPES = {"undelivered-count", "unsettled-count", "delivery-count", "presettled-count",
              "accepted-count", "rejected-count", "released-count", "modified-count"}
ADDRESS_TYPES = {"in-process", "subscriber-count", "remote-count", "container-count",
                 "deliveries-ingress", "deliveries-egress", "deliveries-transit",
                 "deliveries-to-container", "deliveries-from-container"}


def _extract(tar: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    return dest


def _controller(run_dir: Path) -> tuple[str, list[dict], list[dict]]:
    """(run uuid, clients' results, servers' results) from the controller's --output."""
    (log,) = [p for p in run_dir.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    uuid = re.search(r"controller-0-topic-0-(.+)-0\.log$", log.name).group(1)  # type: ignore[union-attr]
    clients, servers = (json.loads(line) for line in log.read_text().splitlines()[:2])
    return uuid, list(clients.values()), list(servers.values())


def _steps(ts: list[int]) -> set[int]:
    ts = sorted(set(ts))
    return {b - a for a, b in zip(ts, ts[1:], strict=False)}


def _by(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSpec]:
    out = tmp_path_factory.mktemp("orch") / "campaign"
    spec = SynthSpec(layout="orchestrator", drivers=("broker", "router-2"), clients=(3,),
                     servers=(2,), call_types=("rpc-call", "rpc-cast"), nbr_calls=150,
                     pause=0.3, seed=11, delays=("10ms",), losses=(0,), agents_per_host=2)
    synth_campaign(out, spec, jobs=2)
    return out, spec


def test_params_json_and_run_folders_are_the_orchestrators(mixed: tuple[Path, SynthSpec]) -> None:
    out, _ = mixed
    text = (out / "params.json").read_text()
    assert "\n" not in text  # json.dump of the list: one line
    params = json.loads(text)
    assert [(p["driver"], p["call_type"]) for p in params] == [
        ("broker", "rpc-call"), ("broker", "rpc-cast"), ("router-2", "rpc-call"),
        ("router-2", "rpc-cast")]
    for p in params:
        assert list(p) == ["nbr_clients", "nbr_servers", "nbr_calls", "pause", "call_type",
                           "timeout", "version", "length", "executor", "driver", "delay", "loss",
                           "traffic", "backup_dir"]
        assert p["version"] == "msimonin/ombt:singleton" and p["delay"] == "10ms"
        # campaign.generate_id: sorted key__value, / -> _sl_, : -> _sc_
        expected = "-".join(
            f"{k}__{str(v).replace('/', '_sl_').replace(':', '_sc_')}"
            for k, v in sorted(p.items()) if k != "backup_dir")
        assert p["backup_dir"] == expected
        assert "version__msimonin_sl_ombt_sc_singleton" in expected
        run = out / p["backup_dir"]
        names = sorted(f.name for f in run.iterdir())
        # no agent logs: only the controller's two files, the broker logs, fping, influx
        assert not [n for n in names if "_rpc-client-" in n or "_rpc-server-" in n]
        if p["driver"] == "broker":
            tarballs = {"enos-bus-0_oo-rabbitmq-bus-0-logs.tar.gz"}
        else:
            tarballs = {"enos-bus-0_oo-router0-logs.tar.gz", "enos-bus-0_oo-router1-logs.tar.gz"}
        tarballs.add("enos-control-bus-0_oo-rabbitmq-control-bus-0-logs.tar.gz")
        assert tarballs == {n for n in names if n.endswith("-logs.tar.gz")}
        for name in tarballs:
            with tarfile.open(run / name) as tf:
                files = [m for m in tf.getmembers() if m.isfile()]
                assert files and files[0].name.startswith(name.split("_", 1)[1][:-7] + "/")
                assert tf.extractfile(files[0]).read()  # type: ignore[union-attr]
        outs = [n for n in names if n.endswith(".out")]
        hosts = {"enos-bus-0", "enos-control-bus-0", "enos-control-0", "enos-client-0",
                 "enos-client-1", "enos-server-0"}
        assert {n[:-4] for n in outs} == hosts
        for n in outs:
            _check_fping(n[:-4], (run / n).read_text(), len(hosts))


def _check_fping(host: str, text: str, n_hosts: int) -> None:
    """fping 3.x -C 10 -q -s: per target ``addr : r1 .. r10`` then the -s block."""
    lines = text.split("\n")
    per_target = lines[:n_hosts]
    rtts = []
    for line in per_target:
        m = re.fullmatch(r"(\d+\.\d+\.\d+\.\d+) : ((?:(?:\d+\.\d\d|-) ?){10})", line)
        assert m, (host, line)
        vals = m.group(2).split()
        assert len(vals) == 10
        rtts += [float(v) for v in vals if v != "-"]
    assert lines[n_hosts] == ""
    assert lines[n_hosts + 1] == f" {n_hosts:7d} targets"
    assert lines[n_hosts + 6] == f" {10 * n_hosts - len(rtts):7d} timeouts (waiting for response)"
    assert lines[n_hosts + 7] == f" {10 * n_hosts:7d} ICMP Echos sent"
    assert lines[n_hosts + 8] == f" {len(rtts):7d} ICMP Echo Replies received"
    assert re.fullmatch(r" [\d.]+ ms \(min round trip time\)", lines[n_hosts + 11])
    assert float(lines[n_hosts + 11].split()[0]) == pytest.approx(min(rtts), abs=0.011)
    assert re.fullmatch(r" {5,}\d+\.\d{3} sec \(elapsed real time\)", lines[n_hosts + 14])
    assert text.endswith("\n\n")


@influx_test
def test_influx_backup_holds_what_the_orchestrator_collects(
        mixed: tuple[Path, SynthSpec], tmp_path: Path) -> None:
    out, _ = mixed
    for k, p in enumerate(json.loads((out / "params.json").read_text())):
        run = out / p["backup_dir"]
        uuid, clients, servers = _controller(run)
        qdr = p["driver"] == "router-2"
        calls = p["call_type"] == "rpc-call"
        with reference_server(_extract(run / "influxdb-data.tar.gz", tmp_path / str(k))) as url:
            dbs = {r["name"] for r in points(url, "", "SHOW DATABASES")}
            assert {"ombt-orchestrator", "telegraf"} <= dbs
            assert points(url, "telegraf", "SHOW MEASUREMENTS") == []
            db = "ombt-orchestrator"
            measurements = {r["name"] for r in points(url, db, "SHOW MEASUREMENTS")}
            expected = TELEGRAF | RABBIT | {"netstat"}
            if qdr:
                expected |= COLLECTD
            elif calls:
                expected |= {"rabbitmq_queue"}  # queues show once agents are connected
            assert measurements >= expected and measurements - expected <= {"rabbitmq_queue"}

            # Telegraf every 10 s on round times, per host: 4 cores and the total
            cpu = points(url, db, "SELECT usage_idle, usage_user, cpu, host, role FROM cpu")
            roles = {r["host"]: r["role"] for r in cpu}
            assert roles == {"enos-bus-0": "bus", "enos-control-bus-0": "control-bus",
                             "enos-control-0": "default", "enos-client-0": "ombt-client",
                             "enos-client-1": "ombt-client", "enos-server-0": "ombt-server"}
            for rows in _by(cpu, "host").values():
                assert {r["cpu"] for r in rows} == {"cpu0", "cpu1", "cpu2", "cpu3", "cpu-total"}
                assert _steps([r["time"] for r in rows]) == {10 * NS}
                assert all(r["time"] % (10 * NS) == 0 for r in rows)
                for (_,), at in _by(rows, "time").items():
                    cores = [r for r in at if r["cpu"] != "cpu-total"]
                    (total,) = [r for r in at if r["cpu"] == "cpu-total"]
                    assert len(cores) == 4
                    for f in ("usage_idle", "usage_user"):
                        assert sum(r[f] for r in cores) / 4 == pytest.approx(total[f], abs=1e-9)
                    assert len({round(r["usage_user"], 12) for r in cores}) > 1  # cores differ

            # netstat every 30 s on the bus and control-bus hosts only
            net = points(url, db, "SELECT tcp_established, host, role FROM netstat")
            assert {r["role"] for r in net} == {"bus", "control-bus"}
            for (_,), rows in _by(net, "host").items():
                assert _steps([r["time"] for r in rows]) == {30 * NS}
                assert all(r["time"] % (30 * NS) == 0 for r in rows)
            assert max(r["tcp_established"] for r in net if r["role"] == "bus") > 1

            # rabbitmq every 30 s: the bus only with the rabbitmq driver, the control bus always
            over = points(url, db, "SELECT messages_published, messages_delivered, host, role, "
                          "url FROM rabbitmq_overview")
            assert {r["role"] for r in over} == ({"control-bus"} if qdr else {"bus", "control-bus"})
            for (_,), rows in _by(over, "host").items():
                assert _steps([r["time"] for r in rows]) <= {30 * NS}
            if not qdr:
                sent = sum(c["msgs_ok"] + c["msgs_fail"] for c in clients)
                replies = sum(s["msgs_ok"] for s in servers) if calls else 0
                bus_max = max(r["messages_published"] for r in over if r["role"] == "bus")
                assert bus_max == sent + replies

            # docker containers: brokers, every agent, the controller, telegraf on every host
            dc = points(url, db, "SELECT usage_percent, usage_total, container_name, "
                        "container_image, container_version, cpu, host, role "
                        "FROM docker_container_cpu")
            total = [r for r in dc if r["cpu"] == "cpu-total"]
            names = {(r["host"], r["container_name"]) for r in total}
            agents = {(f"enos-client-{i // 2}", f"rpc-client-{i}-topic-0-{uuid}-0")
                      for i in range(3)}
            agents |= {("enos-server-0", f"rpc-server-{j}-topic-0-{uuid}-0") for j in range(2)}
            agents.add(("enos-control-bus-0", f"controller-0-topic-0-{uuid}-0"))
            assert agents <= names
            assert {("enos-control-bus-0", "rabbitmq-control-bus-0")} <= names
            assert {h for h, n in names if n == "telegraf"} == set(roles)
            images = {r["container_name"]: (r["container_image"], r["container_version"])
                      for r in total}
            if qdr:
                for r in ("router0", "router1"):
                    assert ("enos-bus-0", r) in names
                    assert images[r] == ("msimonin/qdrouterd-collectd", "1.0.1")
                assert "rabbitmq-bus-0" not in images
            else:
                assert ("enos-bus-0", "rabbitmq-bus-0") in names
                assert images["rabbitmq-bus-0"] == ("rabbitmq", "3-management")
            assert images[f"rpc-client-0-topic-0-{uuid}-0"] == ("msimonin/ombt", "singleton")
            assert all(r["usage_percent"] is not None and r["usage_percent"] >= 0 for r in total)
            per_cpu = [r for r in dc if r["cpu"] != "cpu-total"]
            assert per_cpu and all(r["usage_percent"] is None for r in per_cpu)
            assert _steps([r["time"] for r in total if r["container_name"] == "telegraf"
                           and r["host"] == "enos-bus-0"]) == {10 * NS}
            mem = points(url, db, "SELECT usage, \"limit\", container_name FROM "
                         "docker_container_mem")
            assert {r["container_name"] for r in mem} == {n for _, n in names}
            assert all(0 < r["usage"] < r["limit"] for r in mem)

            if qdr:
                _check_collectd(url, db, clients, servers, calls)


def _check_collectd(url: str, db: str, clients: list[dict], servers: list[dict],
                    calls: bool) -> None:
    """collectd-qdrouterd through InfluxDB's collectd service: every 30 s per router,
    tags host (the router id), instance, type; cumulative deliveries = the messages."""
    for m, types in (("router_value", ROUTER_TYPES), ("link_value", LINK_TYPES),
                     ("address_value", ADDRESS_TYPES)):
        keys = {r["tagKey"] for r in points(url, db, f"SHOW TAG KEYS FROM {m}")}
        assert keys == {"host", "instance", "type"}
        fields = points(url, db, f"SHOW FIELD KEYS FROM {m}")
        assert [(r["fieldKey"], r["fieldType"]) for r in fields] == [("value", "float")]
        rows = points(url, db, f"SELECT value, host, instance, type FROM {m}")
        assert {r["type"] for r in rows} == types
        assert {r["host"] for r in rows} == {"router0", "router1"}
        for (_, _, _), series in _by(rows, "host", "instance", "type").items():
            assert _steps([r["time"] for r in series]) == {30 * NS}
    router = points(url, db, "SELECT value, host, instance, type FROM router_value")
    assert {(r["host"], r["instance"]) for r in router} == {("router0", "router0"),
                                                            ("router1", "router1")}
    addr = points(url, db, "SELECT value, host, instance, type FROM address_value")
    sent = sum(c["msgs_ok"] + c["msgs_fail"] for c in clients)
    handled = sum(s["msgs_ok"] for s in servers)
    got_replies = sum(c["msgs_ok"] for c in clients) if calls else 0
    replies = handled if calls else 0

    def final(rows: list[dict], type_: str) -> float:
        """Sum over series of the last value (the counters are cumulative)."""
        series = _by([r for r in rows if r["type"] == type_], "host", "instance")
        for s in series.values():
            vals = [r["value"] for r in sorted(s, key=lambda r: r["time"])]
            assert vals == sorted(vals)  # never decreases
        return sum(max(r["value"] for r in s) for s in series.values())

    assert final(addr, "deliveries-ingress") == sent + replies
    assert final(addr, "deliveries-egress") == handled + got_replies
    assert final(router, "deliveries-ingress") == sent + replies
    assert final(router, "deliveries-egress") == handled + got_replies
    # with 2 routers, agent i on router i % 2: the client 0 -> server 1 requests cross
    assert final(addr, "deliveries-transit") > 0
    link = points(url, db, "SELECT value, host, instance, type FROM link_value")
    senders = [r for r in link if r["instance"].endswith("-sender")
               and r["instance"].startswith("rpc-client-")]
    assert final(senders, "delivery-count") == sent


def test_same_seed_same_files_and_points(tmp_path: Path) -> None:
    spec = SynthSpec(layout="orchestrator", drivers=("broker", "router"), runs=3,
                     clients=(2,), servers=(1,), nbr_calls=40, seed=4, influx=False,
                     delays=(None,), losses=(0.5,))

    def files(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
                if p.is_file()}

    synth_campaign(tmp_path / "a", spec)
    synth_campaign(tmp_path / "b", spec)
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert a == b and len(a) > 3 * 6
    assert json.loads(a["params.json"])[0]["delay"] is None
    from ombt_postmortem.synth import series_of

    lines = [series_of(sim, spec).lines for sim in simulate_campaign(spec)]
    again = [series_of(sim, spec).lines for sim in simulate_campaign(spec)]
    assert lines == again and all(lines)
    other = SynthSpec(**{**spec.__dict__, "seed": 5})
    assert [series_of(sim, other).lines for sim in simulate_campaign(other)] != lines


def test_the_default_layout_is_byte_for_byte_what_it_was() -> None:
    """Every file and point of the default layout as main's code (ebc6034) wrote them."""
    assert digests() == json.loads(GOLDEN.read_text())


def test_cli_layout_and_drivers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    assert main(["synth", str(out), "--layout", "orchestrator", "--drivers", "broker,fast=qdr:3",
                 "--clients", "2", "--servers", "1", "--call-types", "rpc-cast", "--calls", "20",
                 "--delays", "null", "50ms", "--losses", "1", "--no-influx"]) == 0
    params = json.loads((out / "params.json").read_text())
    assert [(p["driver"], p["delay"], p["loss"]) for p in params] == [
        ("broker", None, 1), ("broker", "50ms", 1), ("fast", None, 1), ("fast", "50ms", 1)]
    fast = out / params[2]["backup_dir"]
    assert sorted(p.name for p in fast.glob("*-logs.tar.gz")) == [
        "enos-bus-0_oo-router0-logs.tar.gz", "enos-bus-0_oo-router1-logs.tar.gz",
        "enos-bus-0_oo-router2-logs.tar.gz",
        "enos-control-bus-0_oo-rabbitmq-control-bus-0-logs.tar.gz"]
    # 50 ms between the bus and the servers' hosts: fping's round trips there >= 100 ms
    slow = out / params[3]["backup_dir"]
    lines = (slow / "enos-bus-0.out").read_text().splitlines()
    server_ip = lines[3].split()[0]  # default, control-bus, bus, then the server's host
    assert all(float(v) >= 100.0 for v in lines[3].split(":")[1].split() if v != "-")
    assert server_ip.startswith("10.158.0.")
    assert main(["synth", str(tmp_path / "bad"), "--drivers", "x=kafka", "--no-influx"]) == 2
    assert "bus type" in capsys.readouterr().err
