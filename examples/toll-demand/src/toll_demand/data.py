"""The synthetic data source: daily traffic per toll plaza, generated deterministically.

A *batch* is ``days_per_batch`` consecutive days for every plaza. Batch ``b``
is a pure function of the settings and ``b`` (its random numbers come from
``numpy.random.default_rng([seed, b])``), so any batch can be generated again,
in any order, on any machine, with the same rows.

Each row: ``plaza, date, region, urban, lanes_total, base_price, weekday,
holiday, weather, temp_c, lanes_open, price, event`` and, later, the label
``vehicles`` (the number of vehicles that paid that day). Labels arrive
``label_delay`` batches after the features: the scoring batch is unlabelled
when it is scored, and its labels come with a later batch.

Drift is switched on per batch in the settings (``data.drift``):

- ``demand``: traffic moves to a new level and a new relationship (more
  traffic, weekend trips up and commuting down, people more sensitive to the
  price). A model retrained on fresh data learns it: retraining fixes it.
- ``noise``: the counting changes regime (faulty sensors): labels carry
  heavy multiplicative noise no feature explains. No model can get back within
  the thresholds: retraining cannot fix it, the loop must alert.

Settings (``data:`` in mlops.yaml), all optional::

    data:
      seed: 42
      plazas: 30
      days_per_batch: 14
      start: "2024-01-01"
      history_batches: 6      # labelled batches there before the first scoring batch
      label_delay: 1
      drift:
        - {from_batch: 9, kind: demand, strength: 1.0}
        - {from_batch: 12, kind: noise, strength: 1.0}
      retrain:
        windows: [4, 2, 1]    # training window (labelled batches) of each retrain try
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from devops_mlops.runtime.api import CheckFailed, ConfigError

#: the record key and the label
KEYS = ["plaza", "date"]
LABEL = "vehicles"
WEATHER = ["sunny", "cloudy", "rain", "snow"]
REGIONS = ["north", "coast", "valley"]
DRIFT_KINDS = ("demand", "noise")
#: raw feature columns as extracted, with their kinds (for validation)
RAW_SCHEMA: dict[str, str] = {
    "plaza": "str",
    "date": "date",
    "region": "str",
    "urban": "bool",
    "lanes_total": "int",
    "base_price": "float",
    "weekday": "int",
    "holiday": "bool",
    "weather": "str",
    "temp_c": "float",
    "lanes_open": "int",
    "price": "float",
    "event": "bool",
    "batch_id": "int",
}
_HOLIDAYS = {(1, 1), (4, 1), (5, 1), (5, 27), (7, 4), (8, 15), (9, 2), (11, 1), (11, 28), (12, 24), (12, 25), (12, 31)}


@dataclass(frozen=True)
class Drift:
    from_batch: int
    kind: str
    strength: float = 1.0


@dataclass
class DataSettings:
    seed: int = 42
    plazas: int = 30
    days_per_batch: int = 14
    start: dt.date = dt.date(2024, 1, 1)
    history_batches: int = 6
    label_delay: int = 1
    drift: list[Drift] = field(default_factory=list)
    retrain_windows: list[int] = field(default_factory=lambda: [4, 2, 1])

    @classmethod
    def from_config(cls, data: dict[str, Any] | None) -> DataSettings:
        data = dict(data or {})
        known = {"seed", "plazas", "days_per_batch", "start", "history_batches", "label_delay", "drift", "retrain"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"data: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        out = cls()
        for key in ("seed", "plazas", "days_per_batch", "history_batches", "label_delay"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ConfigError(f"data.{key}: expected a non-negative integer, got {value!r}")
                setattr(out, key, value)
        if out.plazas < 1 or out.days_per_batch < 1 or out.history_batches < 2:
            raise ConfigError("data: plazas and days_per_batch must be at least 1, history_batches at least 2")
        if "start" in data:
            try:
                out.start = dt.date.fromisoformat(str(data["start"]))
            except ValueError:
                raise ConfigError(f"data.start: not a date (YYYY-MM-DD): {data['start']!r}") from None
        out.drift = [_drift(d, i) for i, d in enumerate(data.get("drift") or [])]
        windows = (data.get("retrain") or {}).get("windows")
        if windows is not None:
            if not isinstance(windows, list) or not windows or not all(isinstance(w, int) and w >= 1 for w in windows):
                raise ConfigError("data.retrain.windows: expected a list of positive integers")
            out.retrain_windows = list(windows)
        return out

    def with_drift(self, drift: list[Drift]) -> DataSettings:
        from dataclasses import replace

        return replace(self, drift=list(drift))

    def drift_at(self, batch: int) -> Drift | None:
        """The drift in force for ``batch``: the last one started at or before it."""
        active = [d for d in sorted(self.drift, key=lambda d: d.from_batch) if d.from_batch <= batch]
        return active[-1] if active else None

    def dates(self, batch: int) -> list[dt.date]:
        first = self.start + dt.timedelta(days=batch * self.days_per_batch)
        return [first + dt.timedelta(days=i) for i in range(self.days_per_batch)]

    def window(self, batch: int) -> tuple[dt.date, dt.date]:
        days = self.dates(batch)
        return days[0], days[-1]

    def retrain_window(self, attempt: int) -> int:
        """Training window (number of labelled batches) of retrain try ``attempt`` (1-based)."""
        return self.retrain_windows[min(attempt, len(self.retrain_windows)) - 1]


def _drift(value: Any, index: int) -> Drift:
    where = f"data.drift[{index}]"
    if not isinstance(value, dict) or "from_batch" not in value or "kind" not in value:
        raise ConfigError(f"{where}: expected {{from_batch: N, kind: demand|noise, strength: x}}")
    if value["kind"] not in DRIFT_KINDS and value["kind"] != "none":
        raise ConfigError(f"{where}.kind: expected one of demand, noise, none, got {value['kind']!r}")
    try:
        return Drift(int(value["from_batch"]), str(value["kind"]), float(value.get("strength", 1.0)))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: from_batch must be an integer and strength a number") from None


def settings_of(session) -> DataSettings:
    """The ``data:`` settings of the session's mlops.yaml, validated."""
    return DataSettings.from_config(session.data)


def scenario(session) -> dict[str, Any]:
    """Entry point ``scenario``: what `mlops lifecycle` will meet in this data (the labelled history,
    the labels' delay, and each drift with whether retraining on fresh data can fix it)."""
    s = settings_of(session)
    drifts = [d for d in sorted(s.drift, key=lambda d: d.from_batch) if d.kind in DRIFT_KINDS]
    return {
        "history": list(range(s.history_batches)),
        "label_delay": s.label_delay,
        "drifts": [{"from_batch": d.from_batch, "kind": d.kind, "fixable": d.kind == "demand"} for d in drifts],
    }


def plazas(settings: DataSettings):
    """The plazas' static attributes (a pandas DataFrame), from the seed only."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([settings.seed, 10_000])
    n = settings.plazas
    urban = rng.random(n) < 0.5
    return pd.DataFrame(
        {
            "plaza": [f"P{i + 1:03d}" for i in range(n)],
            "region": [REGIONS[i % len(REGIONS)] for i in range(n)],
            "urban": urban,
            "lanes_total": rng.integers(4, 13, n),
            "base_price": np.round(rng.uniform(1.5, 6.0, n), 2),
            "base_volume": np.exp(rng.normal(np.log(9000), 0.45, n)) * np.where(urban, 1.4, 1.0),
        }
    )


def generate_batch(settings: DataSettings, batch: int, *, with_labels: bool = True):
    """Batch ``batch``: the raw rows (and the ``vehicles`` label when asked)."""
    import numpy as np
    import pandas as pd

    if batch < 0:
        raise ValueError("batch must be 0 or more")
    rng = np.random.default_rng([settings.seed, batch])
    info = plazas(settings)
    days = settings.dates(batch)
    n_p, n_d = len(info), len(days)
    # per date and region: weather and temperature
    doy = np.array([d.timetuple().tm_yday for d in days])
    season = np.cos(2 * np.pi * (doy - 200) / 365.25)  # 1 in summer, -1 in winter
    temp_base = 12 + 12 * season
    p_snow = np.clip(-season * 0.25, 0, 0.3)
    p_rain = np.full(n_d, 0.2)
    weather = np.empty((n_d, len(REGIONS)), dtype=object)
    temp = np.empty((n_d, len(REGIONS)))
    for r in range(len(REGIONS)):
        u = rng.random(n_d)
        weather[:, r] = np.where(
            u < p_snow, "snow", np.where(u < p_snow + p_rain, "rain", np.where(u < 0.6, "cloudy", "sunny"))
        )
        temp[:, r] = temp_base + rng.normal(0, 3, n_d) - 3 * (weather[:, r] == "snow")

    plaza_idx = np.repeat(np.arange(n_p), n_d)
    day_idx = np.tile(np.arange(n_d), n_p)
    region_idx = plaza_idx % len(REGIONS)
    date_col = [days[i] for i in day_idx]
    weekday = np.array([d.weekday() for d in date_col])
    holiday = np.array([(d.month, d.day) in _HOLIDAYS for d in date_col])
    lanes_total = info["lanes_total"].to_numpy()[plaza_idx]
    closures = rng.binomial(2, 0.12, len(plaza_idx)) + rng.binomial(1, 0.03, len(plaza_idx)) * 3
    lanes_open = np.clip(lanes_total - closures, 1, None)
    base_price = info["base_price"].to_numpy()[plaza_idx]
    urban = info["urban"].to_numpy()[plaza_idx]
    peak = urban & (weekday < 5)
    promo = rng.random(len(plaza_idx)) < 0.08
    price = np.round(base_price * np.where(peak, 1.2, 1.0) * np.where(promo, 0.7, 1.0), 2)
    event = rng.random(len(plaza_idx)) < 0.04
    frame = pd.DataFrame(
        {
            "plaza": info["plaza"].to_numpy()[plaza_idx],
            "date": pd.to_datetime(pd.Series(date_col)).dt.date.to_numpy(),
            "region": info["region"].to_numpy()[plaza_idx],
            "urban": urban,
            "lanes_total": lanes_total.astype("int64"),
            "base_price": base_price,
            "weekday": weekday.astype("int64"),
            "holiday": holiday,
            "weather": weather[day_idx, region_idx].astype(str),
            "temp_c": np.round(temp[day_idx, region_idx], 1),
            "lanes_open": lanes_open.astype("int64"),
            "price": price,
            "event": event,
            "batch_id": np.full(len(plaza_idx), batch, dtype="int64"),
        }
    )
    if with_labels:
        frame[LABEL] = _vehicles(
            settings, batch, frame, info["base_volume"].to_numpy()[plaza_idx], season[day_idx], rng
        )
    return frame


def _vehicles(settings: DataSettings, batch: int, f, base_volume, season, rng):
    import numpy as np

    drift = settings.drift_at(batch)
    kind = drift.kind if drift else "none"
    s = drift.strength if drift else 0.0
    weekday = f["weekday"].to_numpy()
    urban = f["urban"].to_numpy()
    weekend = weekday >= 5
    # the world before any drift
    level = 1.0
    weekday_effect = np.where(urban, np.where(weekend, 0.72, 1.08), np.where(weekend, 1.12, 0.97))
    elasticity = -0.45
    if kind == "demand":
        level = 1.0 + 0.5 * s
        # commuting down, leisure trips up, more price-sensitive drivers
        weekday_effect = weekday_effect * np.where(weekend, 1.0 + 0.45 * s, 1.0 - 0.12 * s)
        elasticity = -0.45 - 0.9 * s
    mean = (
        base_volume
        * level
        * weekday_effect
        * np.where(f["holiday"].to_numpy(), 0.65, 1.0)
        * np.select([f["weather"] == "snow", f["weather"] == "rain"], [0.62, 0.9], 1.0)
        * (f["lanes_open"].to_numpy() / f["lanes_total"].to_numpy()) ** 0.35
        * (f["price"].to_numpy() / f["base_price"].to_numpy()) ** elasticity
        * (1.0 + 0.12 * season)
        * np.where(f["event"].to_numpy(), 1.3, 1.0)
    )
    noise_sd = 0.04
    if kind == "noise":
        noise_sd = 0.04 + 0.6 * s
    counted = mean * np.exp(rng.normal(0.0, noise_sd, len(mean)))
    return np.maximum(np.round(counted), 1).astype("int64")


def split_labels(frame):
    """(features, labels): the raw features without the label, and the label with its key."""
    features = frame.drop(columns=[LABEL])
    labels = frame[KEYS + ["batch_id", LABEL]].copy()
    return features, labels


def validate_raw(frame, *, batch: int | None = None) -> list[str]:
    """Problems found in a raw extract (schema, nulls, duplicates, ranges); [] when clean."""
    problems: list[str] = []
    missing = [c for c in RAW_SCHEMA if c not in frame.columns]
    if missing:
        return [f"missing column(s): {', '.join(missing)}"]
    if len(frame) == 0:
        return ["no rows"]
    nulls = [c for c in RAW_SCHEMA if frame[c].isna().any()]
    if nulls:
        problems.append(f"null values in {', '.join(nulls)}")
    dupes = int(frame.duplicated(subset=KEYS).sum())
    if dupes:
        problems.append(f"{dupes} duplicate (plaza, date) rows")
    if (frame["lanes_open"] < 1).any() or (frame["lanes_open"] > frame["lanes_total"]).any():
        problems.append("lanes_open outside 1..lanes_total")
    if (frame["price"] <= 0).any():
        problems.append("non-positive price")
    if not frame["weekday"].between(0, 6).all():
        problems.append("weekday outside 0..6")
    unknown = set(frame["weather"].unique()) - set(WEATHER)
    if unknown:
        problems.append(f"unknown weather value(s): {', '.join(sorted(map(str, unknown)))}")
    if not frame["temp_c"].between(-40, 50).all():
        problems.append("temp_c outside -40..50")
    if batch is not None and (frame["batch_id"] != batch).any():
        problems.append(f"rows from another batch than {batch}")
    return problems


def check_raw(frame, *, batch: int | None = None) -> None:
    problems = validate_raw(frame, batch=batch)
    if problems:
        where = f"batch {batch}: " if batch is not None else ""
        raise CheckFailed(f"data validation failed: {where}" + "; ".join(problems))
