"""The README is the front door (ADR 10): the two commands come first, and every link in it
leads somewhere. The site's own links are checked by `mkdocs build --strict`; the README is not
part of the site, so its links are checked here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_first_commands_are_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]
    assert [c for c in commands if c] == ["make run", "make test"]


def test_every_relative_link_leads_to_a_file() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = [t for t in LINK.findall(readme) if "://" not in t]
    assert len(targets) > 10, "the README links into the docs"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == [], f"README links to files that do not exist: {missing}"
