"""Where the offline cloud keeps its state between runs (``.local-state/`` by default, gitignored).

One folder holds everything the account would: each deployed stack (template, resources, outputs)
as JSON, the emulator's pools, the published Lambda code, and the functions' logs. A second
``deploy`` therefore sees the first one's stack and becomes an update; ``destroy`` deletes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from local.chime_emulator import ChimeEmulator
from local.cloudformation import StackRecord

DEFAULT_STATE_DIR = Path(".local-state")


class StateStore:
    """JSON files under one folder; each write replaces its file atomically."""

    def __init__(self, root: Path = DEFAULT_STATE_DIR) -> None:
        self.root = Path(root)

    @property
    def emulator_file(self) -> Path:
        return self.root / "chime-emulator.json"

    @property
    def code_store(self) -> Path:
        """Published function code: Lambda's own copy, independent of later synths."""
        return self.root / "lambda-code"

    @property
    def log_dir(self) -> Path:
        """One log file per function, what CloudWatch Logs would hold."""
        return self.root / "logs"

    def stack_file(self, stack_name: str) -> Path:
        return self.root / "stacks" / f"{stack_name}.json"

    def load_stack(self, stack_name: str) -> StackRecord | None:
        path = self.stack_file(stack_name)
        if not path.exists():
            return None
        return StackRecord.from_json(json.loads(path.read_text()))

    def load_stacks(self) -> list[StackRecord]:
        """Every stack kept here (what an import checks an identifier against)."""
        return [
            StackRecord.from_json(json.loads(path.read_text()))
            for path in sorted((self.root / "stacks").glob("*.json"))
        ]

    def save_stack(self, stack: StackRecord) -> None:
        """Keep the stack, or forget it once it is deleted (as CloudFormation lists it no more)."""
        path = self.stack_file(stack.stack_name)
        if stack.status == "DELETE_COMPLETE":
            path.unlink(missing_ok=True)
            return
        _write_json(path, stack.to_json())

    def load_emulator(self, **settings: float) -> ChimeEmulator:
        """The emulator's saved pools, or a fresh emulator with ``settings`` (delays) if none."""
        if self.emulator_file.exists():
            return ChimeEmulator.load(self.emulator_file)
        return ChimeEmulator(**settings)  # type: ignore[arg-type]

    def save_emulator(self, emulator: ChimeEmulator) -> None:
        emulator.save(self.emulator_file)


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True))
    temporary.replace(path)
