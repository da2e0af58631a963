from clicktrail.privacy import tombstones
from clicktrail.privacy.person import Subject, plan


def test_a_tombstone_names_ids_by_digest_only():
    person = plan(Subject("shop", "user", "alice@example.test"), [])
    entries = tombstones.members(person)
    assert entries == [tombstones.digest("shop", "u", "alice@example.test")]
    assert "alice" not in entries[0] and len(entries[0]) == 2 * tombstones.DIGEST_BYTES


def test_lookups_are_per_site_and_kind():
    found = tombstones.Tombstones.of([("shop", tombstones.digest("shop", "v", "v1"))], "3")
    shop = found.site("shop")
    assert tombstones.forgotten(shop, "shop", "v", "v1")
    assert not tombstones.forgotten(shop, "shop", "u", "v1")  # a user id of the same text
    assert not tombstones.forgotten(found.site("other"), "other", "v", "v1")
    assert not tombstones.forgotten(shop, "shop", "v", None)
    assert len(found) == 1 and found.version == "3"


def test_a_tombstone_outlives_both_logs():
    assert tombstones.lifetime_ms(168, 168) == (2 * 168 + 24) * 3_600_000
