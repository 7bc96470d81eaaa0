"""Power sampling says the rate it really got (issue 24, finding 9: jtop ignores our interval when another
client runs its service)."""

from __future__ import annotations

import time

from edgevsr.deploy.power import PowerReading, PowerSampler, refresh_stats


def test_refresh_stats_counts_distinct_readings_and_their_spacing():
    times = [0.0, 0.1, 0.2, 0.3, 0.4, 1.0, 1.1, 2.0]
    watts = [5.0, 5.0, 5.0, 5.0, 5.0, 6.5, 6.5, 6.0]
    fresh, interval = refresh_stats(times, watts)
    assert fresh == [5.0, 6.5, 6.0] and interval == 1.0
    assert refresh_stats([0.0], [5.0]) == ([5.0], None)


def test_reading_notes_a_slower_refresh_than_asked():
    slow = PowerReading("jtop", 5.5, 6.5, 50.0, samples=20, updates=2, update_interval_s=1.0, asked_interval_s=0.1)
    assert "refreshed every 1.00 s, not the 0.10 s asked" in slow.note and "2 distinct readings in 20" in slow.note
    assert slow.to_dict()["note"] == slow.note and slow.to_dict()["update_interval_s"] == 1.0
    ok = PowerReading("nvml", 80.0, 90.0, 60.0, samples=20, updates=20, update_interval_s=0.1, asked_interval_s=0.1)
    assert ok.note is None


class _EveryFifthRead:
    """A sensor that refreshes once per five reads, as jtop's service does at 1 s under a 10 Hz sampler."""

    name = "stand-in"

    def __init__(self):
        self.reads = 0

    def read(self):
        self.reads += 1
        return 5.0 + (self.reads - 1) // 5, None

    def close(self):
        pass


def test_sampler_reports_updates_not_just_samples():
    sampler = PowerSampler(_EveryFifthRead(), interval=0.001).start()
    while sampler.probe.reads < 25:
        time.sleep(0.005)
    reading = sampler.stop()
    assert reading.samples >= 25 and reading.updates == (reading.samples + 4) // 5
    assert reading.asked_interval_s == 0.001
