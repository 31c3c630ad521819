from atliqon_platform.transforms.customers import clean_customers, sb_dim_customers
from atliqon_platform_tests.transforms.helpers import bronze_frame

COLUMNS = "customer_id,customer_name,city"


def test_initcap_trim_city_fixes_and_confirmed_blanks(spark):
    bronze = bronze_frame(
        spark,
        COLUMNS,
        [
            ("789902", "  FitFuel Market ", "Bengalore"),
            ("789903", "champion's choice", "NewDheli"),
            ("789403", "SprintX nutrition", ""),
            ("789404", "Other", "Mumbai"),
            ("789405", "Hyd", "Hyderbad"),
        ],
    )
    silver, rejected = clean_customers(bronze)
    result = {row.customer_id: row for row in silver.collect()}
    assert result["789902"].customer_name == "Fitfuel Market"  # Spark's initcap, word by word
    assert result["789902"].city == "Bengaluru"
    assert result["789903"].customer_name == "Champion's Choice"
    assert result["789903"].customer == "Champion's Choice-New Delhi"
    assert result["789403"].city == "New Delhi"  # blank, confirmed by the business
    assert result["789404"].city is None and result["789404"].customer == "Other-Unknown"
    assert result["789405"].city == "Hyderabad"
    assert {(row.market, row.platform, row.channel) for row in silver.collect()} == {
        ("India", "Sports Bar", "Acquisition")
    }
    assert rejected.count() == 0
    assert sb_dim_customers(silver).columns == [
        "customer_id",
        "customer_name",
        "city",
        "customer",
        "market",
        "platform",
        "channel",
    ]


def test_duplicates_keep_the_first_line_and_are_rejected_with_reason(spark):
    bronze = bronze_frame(spark, COLUMNS, [("1", "A", "Hyderabad"), ("1", "A", "Hyderabad"), ("", "B", "x")])
    silver, rejected = clean_customers(bronze)
    assert [row.customer_id for row in silver.collect()] == ["1"]
    reasons = sorted((row.line_number, row.reject_reason) for row in rejected.collect())
    assert reasons == [(3, "duplicate customer_id"), (4, "missing customer_id")]


def test_every_listed_city_typo_and_every_confirmed_blank_city(spark):
    """REFERENCE_RULES.md lists seven typos and four confirmed blanks: each one, written out here."""
    typos = ["Bengalore", "Bengaluruu", "Hyderabadd", "Hyderbad", "NewDelhi", "NewDheli", "NewDelhee"]
    blanks = ["789403", "789420", "789521", "789603"]
    rows = [(str(i), "n", city) for i, city in enumerate(typos)] + [(c, "n", "") for c in blanks]
    silver, _ = clean_customers(bronze_frame(spark, COLUMNS, rows))
    city = {row.customer_id: row.city for row in silver.collect()}
    assert [city[str(i)] for i in range(7)] == ["Bengaluru"] * 2 + ["Hyderabad"] * 2 + ["New Delhi"] * 3
    assert [city[c] for c in blanks] == ["New Delhi", "Bengaluru", "Hyderabad", "Hyderabad"]
