"""Workloads for the heartbeat: pods from recorded Kubernetes API responses, processes from a
/proc tree, configured (simulated) workloads; and what the agent makes of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.wire import WorkloadInfo
from edge_reporter.workloads import (
    FixedWorkloads,
    KubernetesPods,
    TopProcesses,
    build_source,
    cpu_cores,
    memory_mib,
    parse_stat,
    parse_workloads,
    process_name,
)

DATA = Path(__file__).parent / "data" / "k8s"


def recorded(path: str) -> dict[str, Any]:
    if path.startswith("/api/v1/pods?fieldSelector=spec.nodeName%3Dpi-node-3"):
        return json.loads((DATA / "pods-pi-node-3.json").read_text())
    if path == "/apis/metrics.k8s.io/v1beta1/pods":
        return json.loads((DATA / "podmetrics.json").read_text())
    raise OSError(f"unexpected request {path}")


@pytest.mark.parametrize(
    ("text", "cores"),
    [("500m", 0.5), ("2", 2.0), ("2981245613n", 2.981245613), ("250u", 0.00025), ("", None),
     ("lots", None)],
)  # fmt: skip
def test_cpu_quantities(text: str, cores: float | None):
    assert cpu_cores(text) == (pytest.approx(cores) if cores is not None else None)


@pytest.mark.parametrize(
    ("text", "mib"),
    [("256Mi", 256.0), ("1Gi", 1024.0), ("498176Ki", 486.5), ("134217728", 128.0),
     ("500M", 476.837), ("x", None)],
)  # fmt: skip
def test_memory_quantities(text: str, mib: float | None):
    got = memory_mib(text)
    assert (got is None) if mib is None else got == pytest.approx(mib, abs=0.01)


def test_pods_of_this_node_with_requests_and_use_busiest_first():
    pods = KubernetesPods("pi-node-3", recorded, cpus=4).snapshot()
    assert [p["name"] for p in pods] == [
        "camera-5-video-7d9f8b6c4-x2kqp",
        "edge-reporter-q8z4m",
        "svclb-traefik-2m9xk",  # running, no metrics: use unknown, listed last
    ]  # the finished backup job is not running
    camera = pods[0]
    assert camera["namespace"] == "vision"
    assert camera["cpu_request_m"] == 750.0
    assert camera["memory_request_mib"] == 384.0
    assert camera["cpu_percent"] == pytest.approx(100 * 3.293 / 4, abs=0.1)  # of 4 cores
    assert camera["image"].startswith("ghcr.io/homelab/camera-pipeline:1.4.2,")
    assert "cpu_percent" not in pods[2]


def test_an_unreachable_api_keeps_the_last_list_and_says_why(caplog):
    answers = {"ok": True}

    def flaky(path: str) -> dict[str, Any]:
        if not answers["ok"]:
            raise OSError("connection refused")
        return recorded(path)

    source = KubernetesPods("pi-node-3", flaky, cpus=4)
    first = source.snapshot()
    answers["ok"] = False
    assert source.snapshot() == first
    assert "cannot list the pods of pi-node-3: connection refused" in caplog.text


def test_no_metrics_server_gives_requests_only():
    def no_metrics(path: str) -> dict[str, Any]:
        if "metrics.k8s.io" in path:
            raise OSError("404 Not Found")
        return recorded(path)

    pods = KubernetesPods("pi-node-3", no_metrics, cpus=4).snapshot()
    assert all("cpu_percent" not in p for p in pods)
    assert pods[0]["cpu_request_m"] is not None


def _proc(root: Path, pid: int, comm: str, ticks: int, rss_pages: int) -> None:
    d = root / str(pid)
    d.mkdir(exist_ok=True)
    fields = ["S"] + ["0"] * 10 + [str(ticks), "0"] + ["0"] * 30
    (d / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)}\n")
    (d / "statm").write_text(f"1000 {rss_pages} 0 0 0 0 0\n")


def test_top_processes_by_cpu_between_snapshots(tmp_path: Path):
    clock = iter([0.0, 10.0])
    top = TopProcesses(tmp_path, clock=lambda: next(clock))
    top.tick, top.cpus, top.page_mib = 100, 4, 4096 / 2**20
    _proc(tmp_path, 10, "ffmpeg", 1000, 25600)
    _proc(tmp_path, 11, "python3 (x)", 50, 2560)
    (tmp_path / "self").mkdir()
    first = top.snapshot()
    assert {p["cpu_percent"] for p in first} == {None}  # no interval yet
    _proc(tmp_path, 10, "ffmpeg", 1000 + 3200, 25600)  # 32 s of CPU in 10 s on 4 cores
    _proc(tmp_path, 11, "python3 (x)", 60, 2560)
    second = top.snapshot()
    assert [p["name"] for p in second] == ["ffmpeg (pid 10)", "python3 (x) (pid 11)"]
    assert second[0]["cpu_percent"] == 80.0
    assert second[0]["memory_mib"] == 100.0


@pytest.mark.parametrize(
    "command",
    [
        "python3",
        "(sd-pam)",
        "[kthreadd]",
        "kworker/0:1H-ev",
        "a\x1b[2Jb",
        "two\nlines",
        "名前",
        " ",
        "",
    ],
)
def test_the_agent_accepts_every_process_name_the_reporter_makes(command: str) -> None:
    """Regression: the agent refused every heartbeat of a reporter outside a cluster, its
    process names being `python[26190]` (the agent's name rule has no brackets)."""
    name = process_name(command, 26190)
    assert name.endswith(" (pid 26190)")
    WorkloadInfo.model_validate({"name": name, "kind": "process"})


def test_parse_stat_handles_names_with_spaces_and_parens():
    assert parse_stat("42 (a (b) c) S " + "0 " * 10 + "7 8 0") == ("a (b) c", 15)
    assert parse_stat("garbage") is None


def test_configured_workloads_and_their_syntax():
    items = parse_workloads("camera-5-video@vision=82, edge-reporter@agent-bruno, mosquitto")
    assert items[0] == {"name": "camera-5-video", "kind": "pod", "namespace": "vision",
                        "cpu_percent": 82.0}  # fmt: skip
    assert items[2] == {"name": "mosquitto", "kind": "process"}
    with pytest.raises(ValueError, match="not a CPU percentage"):
        parse_workloads("camera@vision=lots")
    source = FixedWorkloads(items)
    snap = source.snapshot()
    assert snap[0]["name"] == "camera-5-video"
    assert 79 <= snap[0]["cpu_percent"] <= 85
    assert source.simulated_cpu() == 82.0


def test_which_source_is_used(tmp_path: Path):
    assert isinstance(build_source("a@b=1", "n", None), FixedWorkloads)
    assert isinstance(build_source("", "n", None), TopProcesses)
    # An API server but no service account mounted: processes.
    assert isinstance(build_source("", "n", ("10.43.0.1", "443"), tmp_path), TopProcesses)
