"""Local bundling of the handler asset: the installed handler package plus crhelper, no Docker.

The asset is the handler package ``chime_kvs_pool.runtime`` (its source is ``lambda/kvs_stream_pool/``;
found where the package is installed, never relative to the current directory, so the construct
works from a wheel in any app) and crhelper,
copied from the pinned distribution installed in this environment. boto3 is left out on purpose:
the Lambda runtime provides it, and the asset stays a few tens of kilobytes.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

import chime_kvs_pool.runtime

# Where the package sits inside the asset: the same import path as in the wheel. The asset has no
# ``chime_kvs_pool/__init__.py`` (a namespace package there), so the Lambda never imports the construct.
HANDLER_PACKAGE = ("chime_kvs_pool", "runtime")
CRHELPER_DISTRIBUTION = "crhelper"

_SKIPPED_PARTS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Files of an installed distribution's ``.dist-info`` that describe the installation, not the
# package: RECORD lists the byte code of this machine's Python version, INSTALLER names pip or uv,
# REQUESTED and direct_url.json say how it was asked for. Shipping them would make the asset (and
# its hash, see handler.py) depend on the machine that synthesized it; the Lambda never reads them.
_INSTALLATION_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def handler_package_dir() -> Path:
    """The directory of the installed handler package: the asset's source."""
    return Path(chime_kvs_pool.runtime.__file__).resolve().parent


def _is_bundled(relative: Path) -> bool:
    """Only content the Lambda needs: byte code and caches are rebuilt by the runtime (and a .pyc
    embeds its source's mtime), installation records vary by machine; either would change the hash."""
    if _SKIPPED_PARTS.intersection(relative.parts) or relative.name.endswith(_SKIPPED_SUFFIXES):
        return False
    in_dist_info = len(relative.parts) > 1 and relative.parts[-2].endswith(".dist-info")
    return not (in_dist_info and relative.name in _INSTALLATION_RECORDS)


def copy_handler_package(source: Path, output_dir: Path) -> None:
    """Copy the handler package into ``<output_dir>/chime_kvs_pool/runtime/``."""
    target = output_dir.joinpath(*HANDLER_PACKAGE)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and _is_bundled(relative):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def copy_installed_distribution(name: str, output_dir: Path) -> bool:
    """Copy an installed distribution's files (package, dist-info, licence) into ``output_dir``.

    Returns False when the distribution is not installed. Files outside site-packages (scripts in
    ``bin/``) are left out: the Lambda only imports the package.
    """
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    site_root = Path(str(distribution.locate_file(""))).resolve()
    for package_path in distribution.files or ():
        source = Path(str(distribution.locate_file(package_path))).resolve()
        if not source.is_relative_to(site_root) or not source.is_file():
            continue
        relative = source.relative_to(site_root)
        if not _is_bundled(relative):
            continue
        destination = output_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    return True


def install_requirements(requirements: Path, output_dir: Path) -> None:
    """Fallback when crhelper is not installed here: pip-install the handler's pinned requirements,
    then drop what ``_is_bundled`` leaves out of an installed copy (installation records)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(output_dir),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    for path in sorted(output_dir.rglob("*"), reverse=True):
        if path.is_file() and not _is_bundled(path.relative_to(output_dir)):
            path.unlink()


@jsii.implements(ILocalBundling)
class HandlerLocalBundling:
    """Builds the handler asset on this machine; always succeeds, so Docker is never started."""

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *, image: object = None, **_options: object) -> bool:
        """CDK calls this with the staging directory to fill; ``options`` carry the Docker settings."""
        output = Path(output_dir)
        copy_handler_package(self._source, output)
        if not copy_installed_distribution(CRHELPER_DISTRIBUTION, output):
            install_requirements(self._source / "requirements.txt", output)
        return True


def handler_bundling_options(image: DockerImage, source: Path) -> BundlingOptions:
    """Bundling options whose ``image`` (required by CDK) is never run: local bundling always succeeds."""
    return BundlingOptions(image=image, local=HandlerLocalBundling(source))
