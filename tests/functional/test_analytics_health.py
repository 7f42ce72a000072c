"""GET /analytics and GET /health on a moto server."""

from __future__ import annotations

from lambdas.common.config import reload_settings
from lambdas.get_analytics import handler as get_analytics
from lambdas.health import handler as health
from tests.conftest import load_event
from tests.functional.handlers import body_of, invoke


def test_analytics_of_an_empty_platform_is_all_zero(tables):
    response = invoke(get_analytics, load_event("get_analytics.json"))
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["totalFeedback"] == 0
    assert body["averageRating"] is None
    assert body["sentiment"] == {"positive": 0, "neutral": 0, "negative": 0}
    assert body["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert len(body["daily"]) == 30
    assert body["lastUpdated"] is None


def test_analytics_reads_the_global_item(tables, ddb):
    ddb.put_item(
        TableName=tables["analytics"],
        Item={
            "aggregateId": {"S": "global"},
            "totalFeedback": {"N": "4"},
            "ratingSum": {"N": "14"},
            "rating_5": {"N": "2"},
            "rating_2": {"N": "1"},
            "rating_3": {"N": "1"},
            "sentiment_positive": {"N": "3"},
            "sentiment_negative": {"N": "1"},
            "lastUpdated": {"S": "2026-11-25T10:00:00.000Z"},
        },
    )
    body = body_of(invoke(get_analytics, load_event("get_analytics.json")))
    assert body["totalFeedback"] == 4
    assert body["averageRating"] == 3.5
    assert body["ratings"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 2}
    assert body["sentiment"] == {"positive": 3, "neutral": 0, "negative": 1}
    assert body["lastUpdated"] == "2026-11-25T10:00:00.000Z"


def test_health_ok_reports_version_and_both_tables(tables):
    response = invoke(health, load_event("health.json"), version="12")
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["status"] == "ok"
    assert body["version"] == "12"
    assert body["checks"]["feedbackTable"]["ok"] is True
    assert body["checks"]["analyticsTable"]["ok"] is True


def test_health_503_names_the_failing_table(tables, monkeypatch):
    monkeypatch.setenv("ANALYTICS_TABLE_NAME", "gone-table")
    reload_settings()
    response = invoke(health, load_event("health.json"))
    assert response["statusCode"] == 503
    body = body_of(response)
    assert body["status"] == "unavailable"
    assert body["failing"] == ["analyticsTable"]
    assert body["checks"]["analyticsTable"]["table"] == "gone-table"
    assert body["checks"]["feedbackTable"]["ok"] is True


def test_health_503_when_configuration_is_missing(tables, monkeypatch):
    monkeypatch.delenv("FEEDBACK_TABLE_NAME")
    reload_settings()
    response = invoke(health, load_event("health.json"))
    assert response["statusCode"] == 503
    assert body_of(response)["failing"] == ["configuration"]


def test_every_handler_answers_the_synthetic_health_check_without_writing(tables, ddb):
    from lambdas.create_feedback import handler as create
    from lambdas.list_feedback import handler as listing
    from lambdas.stream_aggregator import handler as aggregator
    from tests.conftest import scan_all

    for module in (create, listing, get_analytics, health, aggregator):
        result = invoke(module, {"feedbackctl": "health-check"}, version="3")
        assert result["healthy"] is True
        assert result["version"] == "3"
        assert result["service"] == module.runtime.service
    assert scan_all(ddb, tables["feedback"]) == []
    assert scan_all(ddb, tables["analytics"]) == []
