import hashlib

from atliqon_platform.transforms.products import clean_products
from atliqon_platform_tests.transforms.helpers import bronze_frame

COLUMNS = "product_name,product_id,category"


def test_product_rules(spark):
    bronze = bronze_frame(
        spark,
        COLUMNS,
        [
            ("SportsBar Protien Bar Peanut Crunch (45g)", "25891201", "protien bars"),
            ("SportsBar Oats Cookie Bites ChocoChip (350g)", "XYZ123", "healthy snacks"),
            ("SportsBar Electrolyte Mix Lemon-Lime (30 Sachets)", "25891601", "electrolyte mix"),
            ("Something (1kg)", "5", "misc"),
            ("SportsBar Protien Bar Peanut Crunch (45g)", "25891201", "protien bars"),
        ],
    )
    silver, rejected = clean_products(bronze)
    rows = {row.product_id: row for row in silver.collect()}
    bar = rows["25891201"]
    assert bar.product == "SportsBar Protein Bar Peanut Crunch (45g)"
    assert bar.category == "Protein Bars" and bar.division == "Nutrition Bars"
    assert bar.variant == "45g"
    assert bar.product_code == hashlib.sha256(bar.product.encode()).hexdigest()
    assert rows["999999"].category == "Healthy Snacks"  # non-numeric id replaced
    assert rows["25891601"].variant == "30 Sachets"
    assert rows["25891601"].division == "Hydration & Electrolytes"
    assert rows["5"].division == "Other"
    assert [row.reject_reason for row in rejected.collect()] == ["duplicate product_id"]


def test_two_ids_that_are_not_all_digits_are_one_product_id_and_the_second_a_duplicate(spark):
    bronze = bronze_frame(
        spark,
        COLUMNS,
        [
            ("SportsBar Oats Cookie Bites ChocoChip (350g)", "XYZ123", "healthy snacks"),
            ("SportsBar Granola Crunch (500g)", " 25891301 ", "granola & cereals"),
            ("SportsBar Choco Bar (40g)", "ABC9", "protein bars"),
            ("Nameless (1g)", "", "misc"),
        ],
    )
    silver, rejected = clean_products(bronze)
    assert sorted((row.product_id, row.product) for row in silver.collect()) == [
        ("25891301", "SportsBar Granola Crunch (500g)"),
        ("999999", "SportsBar Oats Cookie Bites ChocoChip (350g)"),  # the first line of the two
    ]
    reasons = [(row.line_number, row.product_id, row.reject_reason) for row in rejected.collect()]
    assert sorted(reasons) == [(4, "ABC9", "duplicate product_id"), (5, "", "missing product_id")]


def test_the_division_of_every_category(spark):
    categories = [
        "energy bars",
        "protein bars",
        "granola & cereals",
        "recovery dairy",
        "healthy snacks",
        "electrolyte mix",
        "misc",
    ]
    rows = [(f"P{i} (1g)", str(i), category) for i, category in enumerate(categories)]
    silver, _ = clean_products(bronze_frame(spark, COLUMNS, rows))
    division = {row.product_id: row.division for row in silver.collect()}
    assert [division[str(i)] for i in range(7)] == [
        "Nutrition Bars",
        "Nutrition Bars",
        "Breakfast Foods",
        "Dairy & Recovery",
        "Healthy Snacks",
        "Hydration & Electrolytes",
        "Other",
    ]
