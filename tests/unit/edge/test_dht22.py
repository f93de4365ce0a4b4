"""DHT22 through the kernel's dht11 IIO driver, against sysfs trees laid out as on a Pi.

The trees follow the driver and the kernel's IIO layout (`dtoverlay=dht11,gpiopin=4`):
/sys/bus/iio/devices/iio:device0 links to /sys/devices/platform/<node>/iio:device0, which
holds `name` and the channel files in thousandths ("21300\n" = 21.3 °C), as
drivers/iio/humidity/dht11.c writes them. The driver's read failures (EIO on a checksum
error, ETIMEDOUT on missing edges, EAGAIN on a coarse clock) cannot live in a plain file, so
they are injected at the file read, with the errno the driver returns.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_reporter.sensors.dht22 import RETRY_PAUSE_S, Dht22Source

NOW = 1_764_160_000.0


def iio_tree(root: Path, devices: dict[str, dict[str, str]]) -> Path:
    """/sys-like tree under `root`: platform devices and the bus's symlinks to them."""
    bus = root / "bus" / "iio" / "devices"
    bus.mkdir(parents=True)
    for index, (platform, files) in enumerate(devices.items()):
        device = root / "devices" / "platform" / platform / f"iio:device{index}"
        device.mkdir(parents=True)
        (device / "uevent").write_text(f"OF_NAME={platform.split('@')[0]}\n")
        for name, content in files.items():
            (device / name).write_text(content)
        (bus / f"iio:device{index}").symlink_to(
            Path("../../../devices/platform") / platform / f"iio:device{index}"
        )
    return bus


PORCH = {"name": "dht11@4\n", "in_temp_input": "21300\n", "in_humidityrelative_input": "45600\n"}


class FlakyReads:
    """Reads files for real, except that the first `errors` reads raise the driver's errno."""

    def __init__(self, *errors: int) -> None:
        self.errors = list(errors)
        self.reads: list[str] = []

    def __call__(self, path: Path) -> str:
        self.reads.append(path.name)
        if self.errors:
            code = self.errors.pop(0)
            raise OSError(code, os.strerror(code))
        return path.read_text()


def source(bus: Path, device: str | None = None, **kw: object) -> tuple[Dht22Source, list[float]]:
    slept: list[float] = []
    src = Dht22Source("porch", device, root=bus, sleep=slept.append, **kw)  # type: ignore[arg-type]
    return src, slept


def values(src: Dht22Source) -> dict[str, float | None]:
    return {r.metric: r.value for r in src.read(NOW)}


def test_millidegrees_and_milli_percent_are_scaled(tmp_path: Path) -> None:
    src, slept = source(iio_tree(tmp_path, {"dht11@4": PORCH}))
    assert values(src) == {"temperature": 21.3, "humidity": 45.6}
    assert [(s.metric, s.unit) for s in src.specs()] == [("temperature", "°C"), ("humidity", "%")]
    assert slept == []


def test_below_zero(tmp_path: Path) -> None:
    files = {**PORCH, "in_temp_input": "-4500\n", "in_humidityrelative_input": "99900\n"}
    src, _ = source(iio_tree(tmp_path, {"dht11@4": files}))
    assert values(src) == {"temperature": -4.5, "humidity": 99.9}


def test_a_checksum_error_is_retried_after_the_sensors_pause(tmp_path: Path) -> None:
    flaky = FlakyReads(errno.EIO)
    src, slept = source(iio_tree(tmp_path, {"dht11@4": PORCH}), read=flaky)
    assert values(src) == {"temperature": 21.3, "humidity": 45.6}
    assert slept == [RETRY_PAUSE_S]
    # The failed transfer is not followed by an immediate second one for humidity.
    assert flaky.reads == ["in_temp_input", "in_temp_input", "in_humidityrelative_input"]
    assert src.failures == 1


def test_a_sensor_that_keeps_timing_out_is_a_dropout_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyReads(*[errno.ETIMEDOUT] * 10)
    src, slept = source(iio_tree(tmp_path, {"dht11@4": PORCH}), read=flaky)
    assert values(src) == {"temperature": None, "humidity": None}
    assert slept == [RETRY_PAUSE_S, RETRY_PAUSE_S]  # three attempts
    assert "Traceback" not in caplog.text


def test_humidity_failing_after_temperature_is_retried_alone(tmp_path: Path) -> None:
    reads: list[str] = []

    def flaky(path: Path) -> str:
        reads.append(path.name)
        if path.name == "in_humidityrelative_input" and reads.count(path.name) == 1:
            raise OSError(errno.EIO, "Input/output error")
        return path.read_text()

    src, slept = source(iio_tree(tmp_path, {"dht11@4": PORCH}), read=flaky)
    assert values(src) == {"temperature": 21.3, "humidity": 45.6}
    assert reads == ["in_temp_input", "in_humidityrelative_input", "in_humidityrelative_input"]
    assert slept == [RETRY_PAUSE_S]


def test_permission_denied_is_said_once_and_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src, slept = source(
        iio_tree(tmp_path, {"dht11@4": PORCH}), read=FlakyReads(errno.EACCES, errno.EACCES)
    )
    with caplog.at_level(logging.WARNING):
        assert values(src) == {"temperature": None, "humidity": None}
    assert slept == []
    assert "Permission denied" in caplog.text


def test_garbage_in_the_file_is_a_dropout(tmp_path: Path) -> None:
    src, _ = source(iio_tree(tmp_path, {"dht11@4": {**PORCH, "in_temp_input": "\n"}}))
    assert values(src) == {"temperature": None, "humidity": 45.6}


def test_no_device_yet_then_the_overlay_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = tmp_path / "bus" / "iio" / "devices"
    bus.mkdir(parents=True)
    src, _ = source(bus)
    with caplog.at_level(logging.WARNING):
        assert values(src) == {"temperature": None, "humidity": None}
    assert "dtoverlay=dht11" in caplog.text
    bus.rmdir()
    (tmp_path / "bus" / "iio").rmdir()
    (tmp_path / "bus").rmdir()
    iio_tree(tmp_path, {"dht11@4": PORCH})
    assert values(src) == {"temperature": 21.3, "humidity": 45.6}


def test_device_gone_is_found_again(tmp_path: Path) -> None:
    bus = iio_tree(tmp_path, {"dht11@4": PORCH})
    src, _ = source(bus)
    assert values(src)["temperature"] == 21.3
    target = (bus / "iio:device0").resolve()
    (bus / "iio:device0").unlink()
    assert values(src) == {"temperature": None, "humidity": None}
    (bus / "iio:device0").symlink_to(target)
    assert values(src)["temperature"] == 21.3


def test_several_dht_devices_need_an_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shed = {**PORCH, "name": "dht11@11\n", "in_temp_input": "15100\n"}
    adc = {"name": "mcp3008\n", "in_voltage0_raw": "512\n"}
    bus = iio_tree(tmp_path, {"dht11@4": PORCH, "dht11@11": shed, "mcp3008": adc})
    anonymous, _ = source(bus)
    with caplog.at_level(logging.WARNING):
        assert values(anonymous) == {"temperature": None, "humidity": None}
    assert "iio:device0 (dht11@4)" in caplog.text
    assert "iio:device1 (dht11@11)" in caplog.text
    assert "@iio:deviceN" in caplog.text
    by_index, _ = source(bus, "iio:device1")
    by_name, _ = source(bus, "dht11@11")
    assert values(by_index)["temperature"] == 15.1
    assert values(by_name)["temperature"] == 15.1


def test_older_kernels_name_the_device_dht11(tmp_path: Path) -> None:
    src, _ = source(iio_tree(tmp_path, {"dht11": {**PORCH, "name": "dht11\n"}}))
    assert values(src)["humidity"] == 45.6


@pytest.mark.parametrize("code", [errno.EIO, errno.ETIMEDOUT, errno.EAGAIN])
def test_each_driver_error_is_transient(tmp_path: Path, code: int) -> None:
    flaky: Callable[[Path], str] = FlakyReads(code)
    src, slept = source(iio_tree(tmp_path, {"dht11@4": PORCH}), read=flaky)
    assert values(src)["temperature"] == 21.3
    assert len(slept) == 1
