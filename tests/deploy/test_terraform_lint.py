"""infra/terraform scanned by checkov, and its security group descriptions checked as EC2 would:
both would otherwise fail only in AWS, at apply time, which a plan does not show."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import REPO, TERRAFORM, resources

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    assert CHECKOV.exists(), "make install creates .venv-checkov"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        check=False,
    )
    report = json.loads(result.stdout)
    return report if isinstance(report, dict) else report[0]  # type: ignore[no-any-return]


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"]["failed_checks"]
    assert failed == [], [(f["check_id"], f["resource"]) for f in failed]
    assert checkov_report["summary"]["passed"] > 150


def test_every_checkov_skip_is_justified_inline() -> None:
    for path in TERRAFORM.glob("*.tf"):
        for line in Path(path).read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert check.startswith("CKV"), f"{path.name}: {line}"
                assert len(reason.strip()) > 20, f"{path.name}: a skip needs its reason: {line}"


# What EC2 accepts in a security group's or rule's description (its API reference); anything else
# fails at apply time only, which a plan does not show.
SECURITY_GROUP_TEXT = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")


def test_security_group_descriptions_use_only_what_ec2_accepts() -> None:
    kinds = (
        "aws_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    )
    described = {
        f"{kind}.{name}": str(body["description"])
        for kind in kinds
        for name, body in resources(kind).items()
        if "description" in body
    }
    assert len(described) >= 4, "the groups and rules describe themselves"
    refused = {k: v for k, v in described.items() if not SECURITY_GROUP_TEXT.fullmatch(v)}
    assert refused == {}, f"EC2 refuses these descriptions: {refused}"
