"""The README and docs/ stay true: every management command they show exists and takes the
options they give it, every page they link exists. (The README's curl walk-through is run
against a live server in tests/browser/test_readme.py.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"manage\.py ([a-z_]+(?:[^)`|;&\n]*))")


def shown_commands() -> list[tuple[str, str]]:
    """(page, command line) for every `manage.py …` in a code block or inline code."""
    found = []
    for page in PAGES:
        text = page.read_text().replace("\\\n", " ")
        code = re.findall(r"```[a-z]*\n(.*?)```", text, re.S) + re.findall(r"`([^`\n]+)`", text)
        for snippet in code:
            for match in COMMAND.finditer(snippet):
                found.append((page.name, match.group(1).strip()))
    return found


def test_the_docs_show_commands():
    """The scan finds the README's deployment commands (so the next test cannot pass empty)."""
    shown = {line for _, line in shown_commands()}
    assert "migrate" in shown and "sync_connectors --check" in shown


@pytest.mark.parametrize(("page", "line"), shown_commands())
def test_every_command_shown_parses(page, line):
    """Each command shown exists, and its arguments parse as written."""
    name, *arguments = shlex.split(line)
    commands = get_commands()
    assert name in commands, f"{page}: no management command {name!r}"
    command = load_command_class(commands[name], name)
    command.create_parser("manage.py", name).parse_args(arguments)


def test_every_relative_link_exists():
    """Links between the README and docs/ point at files that exist."""
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def environment_settings() -> set[str]:
    """Every variable config/settings.py reads from the environment (env.str(…), env(…),
    env.email_url(…), os.environ.get(…))."""
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_setting_is_in_the_readme_table():
    """A setting an operator can set is in the README's Configuration table."""
    readme = (ROOT / "README.md").read_text()
    settings = environment_settings()
    assert {"DATABASE_URL", "EMAIL_URL", "WEBHOOK_MAX_ENDPOINTS"} <= settings
    missing = sorted(name for name in settings if f"| `{name}` |" not in readme)
    assert not missing, f"not in README's Configuration table: {missing}"
