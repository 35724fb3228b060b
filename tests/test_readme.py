"""README stays true: every environment variable the code reads is documented."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Set by Django's autoreloader for its child process, not by operators.
INTERNAL = {"RUN_MAIN"}
ENV_READ = re.compile(r'(?:environ\.get|env_bool|env_list)\(\s*"([A-Z0-9_]+)"')


def test_every_environment_variable_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    read = set()
    for path in [
        *ROOT.glob("inbox/**/*.py"),
        *ROOT.glob("messaging/**/*.py"),
        *ROOT.glob("channels_app/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
    ]:
        read |= set(ENV_READ.findall(path.read_text()))
    assert read, "the pattern found nothing; it is broken"
    missing = sorted(v for v in read - INTERNAL if f"`{v}`" not in readme)
    assert missing == []


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
