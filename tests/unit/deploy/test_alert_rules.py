"""deploy/prometheus: the alert rules parse, name only metrics the services export (with the
labels they have), and pass promtool's checks and unit tests when promtool is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from prometheus_client import CollectorRegistry, metrics
from prometheus_client.core import Metric

FOLDER = Path(__file__).parents[3] / "deploy" / "prometheus"
OURS = FOLDER / "clicktrail-alerts.yml"
KAFKA = FOLDER / "kafka-lag.rules.yml"
# Kafka Exporter's metrics (github.com/danielqsj/kafka_exporter), with their labels.
KAFKA_EXPORTER = {
    "kafka_consumergroup_lag": {"consumergroup", "topic", "partition"},
    "kafka_topic_partition_current_offset": {"topic", "partition"},
}
PROMETHEUS = {"up": {"job", "instance"}}  # Prometheus's own, per target
# The target labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"job", "instance"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")


def exported() -> dict[str, set[str]]:
    """Every sample name the services export, with its labels."""
    import personalizer.metrics
    import reports.metrics
    import tracker.metrics
    from pipelines.metrics import WorkerCollector
    from pipelines.worker import WorkerStats

    found: dict[str, set[str]] = {}
    for module in (tracker.metrics, personalizer.metrics, reports.metrics):
        for value in vars(module).values():
            if isinstance(value, metrics.MetricWrapperBase):
                labels = set(value._labelnames)
                for suffix in SUFFIXES[value._type]:
                    base = value._name.removesuffix("_total")
                    found[base + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    # The pipeline worker's metrics are read from its stats when scraped.
    worker = SimpleNamespace(
        stats=WorkerStats(),
        builder=SimpleNamespace(cache_stats=lambda: {"geo": {"hit_rate": 0.5}}),
    )
    registry = CollectorRegistry()
    registry.register(WorkerCollector(lambda: worker))  # type: ignore[arg-type,return-value]
    family: Metric
    for family in registry.collect():
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def selectors(path: Path) -> list[tuple[str, str, set[str]]]:
    """(alert, metric, label names) of every series selector in the file's expressions."""
    functions = {
        "sum", "rate", "increase", "max", "min", "avg", "by", "on", "and", "or", "unless",
        "vector", "absent", "deriv", "count", "without", "ignoring", "group_left",
        "group_right", "bool", "offset", "histogram_quantile",
    }  # fmt: skip
    found = []
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            expr = re.sub(r"\[[^\]]*\]", "", rule["expr"])  # ranges
            expr = re.sub(r"\b(by|on|without|ignoring)\s*\([^)]*\)", "", expr)  # groupings
            for match in NAME.finditer(expr):
                name, matchers = match.group(1), match.group(2) or ""
                if name in functions or re.fullmatch(r"[0-9.e]+", name):
                    continue
                labels = {label for label, _ in LABEL.findall(matchers)}
                found.append((rule["alert"], name, labels))
    return found


def test_every_metric_of_our_rules_is_exported_with_its_labels():
    ours = exported()
    names = selectors(OURS)
    assert {alert for alert, _, _ in names} == {
        rule["alert"] for group in yaml.safe_load(OURS.read_text())["groups"]
        for rule in group["rules"]
    }  # fmt: skip
    for alert, name, labels in names:
        known = ours[name] if name in ours else PROMETHEUS.get(name)
        assert known is not None, f"{alert}: no service exports {name}"
        assert labels <= known | TARGET_LABELS, f"{alert}: {name} has no label {labels - known}"


def test_the_check_catches_a_misspelt_metric(tmp_path: Path):
    broken = tmp_path / "rules.yml"
    broken.write_text(
        OURS.read_text().replace(
            "clicktrail_pipeline_dead_letters_total", "clicktrail_pipeline_deadletters_total"
        )
    )
    ours = exported()
    missing = [name for _, name, _ in selectors(broken) if name not in ours | PROMETHEUS]
    assert set(missing) == {"clicktrail_pipeline_deadletters_total"}


def test_the_kafka_rules_name_kafka_exporter_metrics():
    for alert, name, labels in selectors(KAFKA):
        assert name in KAFKA_EXPORTER, f"{alert}: {name} is not a Kafka Exporter metric"
        assert labels <= KAFKA_EXPORTER[name] | TARGET_LABELS


def test_rules_carry_severity_and_summary():
    for path in (OURS, KAFKA):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
                assert rule["annotations"]["summary"], rule["alert"]


def test_the_scrape_jobs_are_the_ones_the_rules_name():
    jobs = {job["job_name"] for job in yaml.safe_load((FOLDER / "scrape.yml").read_text())[
        "scrape_configs"]}  # fmt: skip
    text = OURS.read_text()
    for job in re.findall(r'job=~?"([^"]+)"', text):
        assert any(re.fullmatch(job, name) for name in jobs), job


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian package prometheus: apt-get install "
    "--no-install-recommends prometheus)",
)
def test_promtool_checks_and_unit_tests(tmp_path: Path):
    check = subprocess.run(
        ["promtool", "check", "rules", str(OURS), str(KAFKA)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run(
        ["promtool", "test", "rules", "clicktrail-alerts.test.yml"],
        cwd=FOLDER, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
