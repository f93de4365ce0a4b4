"""The agent's prompts, loaded once at start-up from the shipped `prompts/` files."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable
from string import Template

from agent_bruno.assets import asset

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


def load_prompts(directory: Traversable | None = None) -> Prompts:
    """Read every prompt file from `directory` (default: the prompts shipped in the package)."""
    directory = directory or asset("prompts")
    texts: dict[str, str] = {}
    for key, name in FILES.items():
        path = directory / name
        try:
            texts[key] = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise PromptError(f"cannot read prompt {path}: {reason}") from None
        if not texts[key]:
            raise PromptError(f"prompt {path} is empty")
    return Prompts(**texts)
