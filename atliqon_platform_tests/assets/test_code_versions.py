"""Code versions follow the rules: editing a rule gives exactly the assets that use it a new code
version (the UI then flags them as changed since their last materialisation); a comment or a
docstring does not."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from atliqon_platform.definitions import defs

PACKAGE = Path(__file__).resolve().parents[2] / "atliqon_platform"
VERSIONS = """
import json
import os
from atliqon_platform.definitions import defs
print(json.dumps({spec.key.to_user_string(): spec.code_version for spec in defs.resolve_all_asset_specs()}))
"""


def versions_of_a_copy_edited(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The code versions a copy of the package declares, with ``edits`` (file: (old, new)) made to it."""
    copy = tmp_path / "project"
    shutil.copytree(PACKAGE, copy / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name, (old, new) in edits.items():
        path = copy / PACKAGE.name / name
        text = path.read_text()
        assert text.count(old) == 1, f"{name}: the text to edit is not there once: {old}"
        path.write_text(text.replace(old, new))
    result = subprocess.run(
        [sys.executable, "-c", VERSIONS],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy), "ATLIQON_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_an_edited_rule_changes_exactly_the_versions_of_the_assets_that_use_it(tmp_path):
    before = {spec.key.to_user_string(): spec.code_version for spec in defs.resolve_all_asset_specs()}
    after = versions_of_a_copy_edited(
        tmp_path,
        {
            # A new typo, read by standard_city, which clean_customers calls.
            "transforms/customers.py": (
                '"NewDelhee": "New Delhi",',
                '"NewDelhee": "New Delhi",\n    "Blr": "Bengaluru",',
            ),
            # Words only: a docstring and a comment.
            "transforms/unified.py": (
                '"""Parent customers, child customers, and the unknown customer 999999 as a real member."""',
                '"""Both companies\' customers, and the unknown one."""\n    # Said in other words.',
            ),
        },
    )
    assert after.keys() == before.keys()
    assert len(set(before.values())) > 15  # assets of different rules have different versions
    changed = {asset for asset in before if after[asset] != before[asset]}
    assert changed == {"silver/customers", "silver/customers_rejected"}
