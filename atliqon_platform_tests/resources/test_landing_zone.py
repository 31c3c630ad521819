import pytest

from atliqon_platform.resources.landing_zone import LandingObjectMissing, LandingZoneResource


@pytest.fixture(params=["local", "s3"])
def landing(request, tmp_path) -> LandingZoneResource:
    if request.param == "local":
        return LandingZoneResource(uri=str(tmp_path / "landing"))
    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("s3_endpoint")
    return LandingZoneResource(
        uri=f"s3://{bucket}/landing", endpoint_url=endpoint, region_name="us-east-1", page_size=2
    )


def test_listing_is_in_key_order_pages_and_starts_after_a_key(landing):
    keys = [f"orders/landing/orders_2025_07_{day:02d}.csv" for day in range(1, 8)]
    for key in reversed(keys):
        landing.write(key, key.encode())
    landing.write("customers/customers.csv", b"x")
    assert [item.key for item in landing.list("orders/")] == keys
    assert [item.key for item in landing.list("orders/", start_after=keys[4])] == keys[5:]
    first = next(iter(landing.list("orders/")))
    assert first.size == len(keys[0]) and first.version
    assert landing.read(keys[0]) == keys[0].encode()


def test_same_content_same_version_new_content_new_version(landing):
    landing.write("products/products.csv", b"a")
    before = next(iter(landing.list("products/"))).version
    landing.write("products/products.csv", b"a")
    assert next(iter(landing.list("products/"))).version == before
    landing.write("products/products.csv", b"b")
    assert next(iter(landing.list("products/"))).version != before


def test_reading_a_vanished_key_says_so(landing):
    with pytest.raises(LandingObjectMissing, match="gone"):
        landing.read("orders/landing/orders_2025_07_01.csv")
