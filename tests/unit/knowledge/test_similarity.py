"""Similarity of episodes: the fast score a search computes over every past episode is the
score of the full resemblance (with its reasons) that is shown."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.knowledge.similarity import resemblance, score, shape
from tests.unit.knowledge.facts import HOUR, T0, episode

TZ = ZoneInfo("Europe/Lisbon")


def random_episode(rng: random.Random, n: int):
    return episode(
        f"ep-{n}",
        T0 - rng.uniform(0, 30 * 24 * HOUR),
        sigma=rng.choice([0.0, rng.uniform(-9, 9), rng.uniform(0.1, 1)]),
        metric=rng.choice(["temperature", "humidity"]),
        location=rng.choice(["warehouse-b", "office"]),
        minutes=rng.choice([0.1, rng.uniform(1, 300)]),
        ended=rng.random() < 0.8,
        kind=rng.choice(["process_anomaly", "sensor_fault"]),
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_score_is_the_resemblance_score(seed: int):
    rng = random.Random(seed)
    pairs = [(random_episode(rng, 2 * i), random_episode(rng, 2 * i + 1)) for i in range(200)]
    for new, past in pairs:
        assert score(shape(new, TZ), shape(past, TZ)) == resemblance(new, past, TZ).score
