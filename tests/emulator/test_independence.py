"""The offline cloud is a witness: nothing under local/ may import the product it tests.

If the emulator borrowed the handler's rules, an error in those rules would be mirrored by the
emulator and no test could catch it. Checked twice: statically (every module's AST, including
``importlib.import_module("...")`` and ``__import__("...")`` with a literal name) and at run time (import
every module of local/ in a fresh interpreter and look at ``sys.modules``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL = REPO_ROOT / "local"
# The product's packages: the construct library and the handler, under every name they import as.
PRODUCT_PACKAGES = frozenset({"chime_kvs_pool", "kvs_stream_pool", "index"})
PRODUCT_DIRECTORIES = ("lambda", "constructs")


def local_modules() -> list[Path]:
    return sorted(LOCAL.rglob("*.py"))


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import statement and literal dynamic import in one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom chime_kvs_pool.runtime import pool_rules\nimport kvs_stream_pool.index as x\n"
        "import importlib\nimportlib.import_module('chime_kvs_pool')\n__import__('index')\n"
        "from . import sibling\n"
    )
    assert imported_names(sample) == [
        (1, "os"),
        (2, "chime_kvs_pool.runtime"),
        (3, "kvs_stream_pool.index"),
        (4, "importlib"),
        (5, "chime_kvs_pool"),
        (6, "index"),
    ]


def test_no_module_under_local_imports_the_product() -> None:
    modules = local_modules()
    assert LOCAL / "chime_emulator" / "model.py" in modules
    offending = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {name}"
        for path in modules
        for line, name in imported_names(path)
        if name.split(".")[0] in PRODUCT_PACKAGES
    ]
    assert offending == []


def test_no_module_under_local_puts_the_product_on_sys_path() -> None:
    """A path manipulation would let a plain-looking import reach lambda/ or constructs/."""
    offending = []
    for path in local_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and getattr(node.value, "id", "") == "sys"
            ):
                offending.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert offending == []


def test_importing_all_of_local_loads_nothing_of_the_product() -> None:
    names = [
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in local_modules()
        if path.name != "__main__.py"
    ]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = {name: getattr(module, '__file__', None) for name, module in sys.modules.items()}\n"
        "print(json.dumps(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded: dict[str, str | None] = json.loads(result.stdout)
    assert "local.chime_emulator.model" in loaded
    product = sorted(
        name
        for name, file in loaded.items()
        if name.split(".")[0] in PRODUCT_PACKAGES
        or (file is not None and any(f"{REPO_ROOT}/{d}/" in file for d in PRODUCT_DIRECTORIES))
    )
    assert product == []
