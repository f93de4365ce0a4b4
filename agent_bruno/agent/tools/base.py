"""The tool contract: typed arguments in, a structured `ToolResult` out, never an exception."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

Status = Literal["ok", "no_data", "error"]
ArgsT = TypeVar("ArgsT", bound=BaseModel)
CtxT = TypeVar("CtxT")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool found: `ok` with data, `no_data` with the reason, or `error` with the problem.

    `data` is JSON-ready. `facts` are the sourced numbers the answer may quote; `size` counts
    the items behind `data` so a summary can say how much it left out.
    """

    status: Status
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    size: int = 0

    @classmethod
    def ok(cls, data: dict[str, Any], size: int = 1) -> ToolResult:
        """A successful result."""
        return cls("ok", data, None, size)

    @classmethod
    def no_data(cls, reason: str, data: dict[str, Any] | None = None) -> ToolResult:
        """Nothing matched; `reason` says what was looked for."""
        return cls("no_data", data or {}, reason, 0)

    @classmethod
    def fail(cls, problem: str, data: dict[str, Any] | None = None) -> ToolResult:
        """The tool could not run; `problem` says why, for a person."""
        return cls("error", data or {}, problem, 0)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {"status": self.status, "data": self.data, "error": self.error, "size": self.size}


def describe(fn: Callable[..., Any]) -> str:
    """A tool's description for a model: its docstring on one line."""
    return " ".join((fn.__doc__ or fn.__name__).split())


@dataclass(frozen=True, slots=True)
class Tool(Generic[CtxT, ArgsT]):
    """One tool: its name, the description a model reads, its argument model and its function."""

    name: str
    description: str
    args: type[ArgsT]
    fn: Callable[[CtxT, ArgsT], Awaitable[ToolResult]]
    toolset: str

    def schema(self) -> dict[str, Any]:
        """The OpenAI/Ollama function schema of the tool."""
        params = self.args.model_json_schema()
        params.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": params},
        }

    async def call(self, ctx: CtxT, raw_args: dict[str, Any]) -> ToolResult:
        """Validate `raw_args` and run the tool; bad arguments and failures become `error`."""
        try:
            args = self.args.model_validate(raw_args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            return ToolResult.fail(f"bad arguments for {self.name}: {problems}")
        try:
            return await self.fn(ctx, args)
        except Exception as exc:  # a tool never raises into the graph
            return ToolResult.fail(f"{self.name} failed: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call made while answering: what was asked and what came back."""

    name: str
    args: dict[str, Any]
    result: ToolResult

    def as_dict(self) -> dict[str, Any]:
        """The call as JSON-ready data."""
        return {"name": self.name, "args": self.args, "result": self.result.as_dict()}
