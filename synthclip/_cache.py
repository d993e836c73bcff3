"""numba's on-disk cache, keyed on every kernel module at once (private; imported first by the package).

numba checks a cached function against its own source file only. The engine's kernels inline
functions of other files (noise._fill inlines _vmath.log and _rng.philox4x32), so after an edit of
_vmath.py alone (a developer's change, a ``git pull`` into an editable install) numba would load the
stale machine code of noise.py and silently run the old formula. The locators here give every jitted
function of synthclip's top-level modules one source stamp, the SHA-256 of all those modules: any edit
recompiles everything once (~20 s).

numba's default locators are kept, in their order, each with the package-wide stamp; functions outside
the package are untouched. The hook is numba's list of locator classes: if a numba release renames it,
caching falls back to numba's per-file stamps (still correct for an installed, unedited package).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def package_stamp(folder: Path = _PACKAGE) -> str:
    """SHA-256 over the names and contents of the folder's top-level .py files (where the kernels live)."""
    files = sorted(Path(folder).glob("*.py"))
    return _hash_files(tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))


@functools.lru_cache(maxsize=8)
def _hash_files(stats: tuple) -> str:
    # Memoised on (path, mtime, size) so the ~50 cached kernels of one process hash the sources once.
    digest = hashlib.sha256()
    for path, _, _ in stats:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def _stamped(base):
    """A subclass of numba locator ``base`` that takes synthclip's functions and stamps them package-wide."""

    class PackageStamped(base):
        def get_source_stamp(self):
            return package_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                inside = Path(py_file).resolve().parent == _PACKAGE
            except (OSError, ValueError):
                inside = False
            return super().from_function(py_func, py_file) if inside else None

    PackageStamped.__name__ = PackageStamped.__qualname__ = f"Package{base.__name__}"
    return PackageStamped


def install() -> bool:
    """Put package-stamped locators ahead of numba's own; True if numba's hook was found."""
    try:
        from numba.core import caching

        defaults = caching.CacheImpl._locator_classes
        backed = [c for c in defaults if issubclass(c, caching._SourceFileBackedLocatorMixin)]
    except (ImportError, AttributeError):
        return False
    if any(getattr(c, "__name__", "").startswith("Package") for c in defaults):
        return True
    defaults[:0] = [_stamped(c) for c in backed]
    return True


INSTALLED = install()


def kernel_dir() -> Path:
    """The folder of the generated per-method kernel modules (``_engine.kernel_module``) and numba's cache of
    them: $SYNTHCLIP_KERNEL_DIR, else $XDG_CACHE_HOME/synthclip/kernels (~/.cache/...), else a folder in the
    temporary directory when that is not writable. Entries are keyed by content, so the folder may be
    shared by processes and versions, and deleting it only costs a recompile."""
    import os
    import tempfile

    explicit = os.environ.get("SYNTHCLIP_KERNEL_DIR")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates = (
        [Path(explicit)]
        if explicit
        else [
            base / "synthclip" / "kernels",
            Path(tempfile.gettempdir()) / f"synthclip-kernels-{getattr(os, 'getuid', lambda: 0)()}",
        ]
    )
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise OSError(
        f"no writable folder for synthclip's kernel cache (tried {', '.join(map(str, candidates))}); "
        "set SYNTHCLIP_KERNEL_DIR"
    )
