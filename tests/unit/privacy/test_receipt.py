from clicktrail.privacy.person import Subject, plan
from clicktrail.privacy.receipt import Receipt


def test_the_receipt_says_what_went_where_and_when():
    person = plan(Subject("shop", "visitor", "v1"), [])
    receipt = Receipt(person, 1_700_000_000_000, "cli:ops")
    receipt.add("clickhouse:events", "rows", 12)
    receipt.add("clickhouse:events", "rows", 3)
    receipt.keep("kafka dead letters stay until the topic's retention")
    data = receipt.finish(1_700_000_001_500).to_json()
    assert receipt.removed("clickhouse:events") == 15
    assert data["subject"] == {"site_id": "shop", "visitor": "v1"}
    assert data["person"]["visitor_ids"] == ["v1"]
    assert data["requested_at"] == "2023-11-14T22:13:20.000+00:00"
    assert data["finished_at"] == "2023-11-14T22:13:21.500+00:00"
    assert data["removed"][0] == {"store": "clickhouse:events", "what": "rows", "removed": 12}
    assert data["not_removed"] == ["kafka dead letters stay until the topic's retention"]
