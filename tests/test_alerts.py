"""Alerts reach their sink: a JSON-lines file in dev/test, a webhook (real HTTP) in prod."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from platform_assets.resources import AlertNotDelivered, Alerts


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


def webhook_answering(*codes: int):
    """A local webhook answering each POST with the next of `codes`; (url, codes received)."""
    answers, seen = list(codes), []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(answers.pop(0))
            self.send_response(seen[-1])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook", seen


def test_a_webhook_that_fails_for_a_moment_still_gets_the_alert():
    """A 503 used to lose the alert: Dagster's run-status cursor moves past the run anyway."""
    server, url, seen = webhook_answering(503, 502, 204)
    try:
        Alerts(webhook_url=url, retry_seconds=0.01).send("run_failure", "Run abc failed")
    finally:
        server.shutdown()
    assert seen == [503, 502, 204]


def test_an_alert_the_webhook_never_takes_fails_loudly_with_the_alert():
    server, url, seen = webhook_answering(503, 503, 503, 400)
    try:
        alerts = Alerts(webhook_url=url, retry_seconds=0.01)
        with pytest.raises(AlertNotDelivered, match="3 attempt.*Run abc failed"):
            alerts.send("run_failure", "Run abc failed")
        with pytest.raises(AlertNotDelivered, match="1 attempt"):  # a 400 is not retried
            alerts.send("run_failure", "Run abc failed")
    finally:
        server.shutdown()
    assert seen == [503, 503, 503, 400]


def check_sensor_context(instance, result, alerts: Alerts):
    """The check-alert sensor's context for the succeeded run `result`."""
    import dagster as dg

    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_check_failure",
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"alerts": alerts},
    )


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
        alert_on_check_failure(check_sensor_context(instance, first, alerts))
    [alert] = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert alert["kind"] == "check_failure" and alert["asset"] == "first"
    assert alert["run_id"] == first.run_id


def test_one_check_alert_the_webhook_refuses_does_not_keep_the_others_from_it(tmp_path):
    import dagster as dg

    from platform_assets.automation.alerts import alert_on_check_failure

    @dg.asset(check_specs=[dg.AssetCheckSpec(name, asset="sales") for name in ("a", "b")])
    def sales():
        yield dg.MaterializeResult()
        for name in ("a", "b"):
            yield dg.AssetCheckResult(
                check_name=name, passed=False, severity=dg.AssetCheckSeverity.ERROR
            )

    server, url, seen = webhook_answering(400, 204)
    try:
        alerts = Alerts(webhook_url=url, retry_seconds=0.01)
        with dg.instance_for_test() as instance:
            result = dg.materialize([sales], instance=instance)
            with pytest.raises(AlertNotDelivered, match="1 alert.*Check a on sales"):
                alert_on_check_failure(check_sensor_context(instance, result, alerts))
    finally:
        server.shutdown()
    assert seen == [400, 204]  # the second check's alert was still sent


def test_alerts_name_the_day_or_range_a_run_covered():
    from platform_assets.automation.alerts import run_partitions

    assert run_partitions({"dagster/partition": "2026-03-02"}) == "2026-03-02"
    range_tags = {
        "dagster/asset_partition_range_start": "2026-03-01",
        "dagster/asset_partition_range_end": "2026-03-07",
    }
    assert run_partitions(range_tags) == "2026-03-01...2026-03-07"
    assert run_partitions({}) is None
