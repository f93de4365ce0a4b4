"""The agent's prompts, loaded once at start-up from the repository's `prompts/` files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
FILES = {
    "system": "agent_system.md",
    "tools": "agent_tools.md",
    "forge": "forge_analysis.md",
    "edge_explanation": "edge_explanation.md",
}


class PromptError(RuntimeError):
    """A prompt file is missing or unreadable; the message names it."""


@dataclass(frozen=True, slots=True)
class Prompts:
    """Prompt texts; `system` is a `string.Template` over `$now`, `$timezone`, `$inventory`."""

    system: str
    tools: str
    forge: str
    edge_explanation: str

    def system_message(self, now: str, timezone: str, inventory: str) -> str:
        """The agent model's system message: the template filled in, then the tool guide."""
        head = Template(self.system).safe_substitute(
            now=now, timezone=timezone, inventory=inventory
        )
        return f"{head}\n\n{self.tools}"


def load_prompts(directory: Path = PROMPTS_DIR) -> Prompts:
    """Read every prompt file from `directory`."""
    texts: dict[str, str] = {}
    for key, name in FILES.items():
        path = directory / name
        try:
            texts[key] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PromptError(f"cannot read prompt {path}: {exc.strerror or exc}") from None
        if not texts[key]:
            raise PromptError(f"prompt {path} is empty")
    return Prompts(**texts)
