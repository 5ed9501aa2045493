"""Alerts reach their sink: a JSON-lines file in dev/test, a webhook (real HTTP) in prod."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from platform_assets.resources import Alerts


def test_alerts_are_appended_to_a_jsonl_file(tmp_path):
    alerts = Alerts(jsonl_path=str(tmp_path / "alerts.jsonl"))
    alerts.send("run_failure", "Run abc failed", run_id="abc")
    alerts.send("check_failure", "Check x failed")
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [a["kind"] for a in lines] == ["run_failure", "check_failure"]
    assert lines[0]["run_id"] == "abc" and lines[0]["at"]


def test_alerts_are_posted_to_a_webhook():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/platform"
        Alerts(webhook_url=url).send("run_failure", "Run abc failed", job="daily_pipeline")
        thread.join(timeout=10)
    finally:
        server.server_close()
    [(content_type, alert)] = received
    assert content_type == "application/json"
    assert alert["summary"] == "Run abc failed" and alert["job"] == "daily_pipeline"


def test_a_runs_failed_error_checks_are_alerted_with_that_run_only(tmp_path):
    """The check alert is a run-status sensor: Dagster hands it each finished run once, and it
    alerts that run's failed ERROR checks, not another run's (a cursor on event timestamps
    alerted a check twice when a longer run overlapped a shorter one)."""
    import dagster as dg

    from platform_assets.automation.alerts import alert_on_check_failure

    def failing(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name, check_specs=[dg.AssetCheckSpec("must_pass", asset=name)])
        def _asset():
            yield dg.MaterializeResult()
            yield dg.AssetCheckResult(
                check_name="must_pass", passed=False, severity=dg.AssetCheckSeverity.ERROR
            )

        return _asset

    alerts = Alerts(jsonl_path=str(tmp_path / "alerts.jsonl"))
    with dg.instance_for_test() as instance:
        first = dg.materialize([failing("first")], instance=instance)
        dg.materialize([failing("second")], instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_check_failure",
            dagster_event=first.get_run_success_event(),
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(first.run_id),
            resources={"alerts": alerts},
        )
        alert_on_check_failure(context)
    [alert] = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert alert["kind"] == "check_failure" and alert["asset"] == "first"
    assert alert["run_id"] == first.run_id


def test_alerts_name_the_day_or_range_a_run_covered():
    from platform_assets.automation.alerts import run_partitions

    assert run_partitions({"dagster/partition": "2026-03-02"}) == "2026-03-02"
    range_tags = {
        "dagster/asset_partition_range_start": "2026-03-01",
        "dagster/asset_partition_range_end": "2026-03-07",
    }
    assert run_partitions(range_tags) == "2026-03-01...2026-03-07"
    assert run_partitions({}) is None
