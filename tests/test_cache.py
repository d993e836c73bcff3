"""numba's disk cache is stamped with every kernel module at once (synthclip._cache); each method's generated
kernel module is keyed by that stamp and its own source (synthclip._engine.kernel_module)."""

import shutil

from synthclip import _cache, _engine, noise


def test_kernels_use_the_package_wide_stamp():
    assert _cache.INSTALLED
    for kernel in (noise._fill, _engine._step_size, _engine._record):
        locator = kernel._cache._impl._locator
        assert type(locator).__name__.startswith("Package")
        assert locator.get_source_stamp() == _cache.package_stamp()


def test_an_edit_of_any_module_changes_the_stamp(tmp_path):
    # An edit of _vmath.py alone must invalidate noise.py's cached kernels, which inline it.
    copy = tmp_path / "synthclip"
    copy.mkdir()
    for module in _cache._PACKAGE.glob("*.py"):
        shutil.copy(module, copy)
    before = _cache.package_stamp(copy)
    assert before == _cache.package_stamp(_cache._PACKAGE)
    vmath = copy / "_vmath.py"
    vmath.write_text(vmath.read_text().replace("_SQRT2 = 1.4142135623730951", "_SQRT2 = 1.4142135623730950"))
    assert _cache.package_stamp(copy) != before


def test_functions_outside_the_package_keep_numbas_locators(tmp_path):
    from numba import njit

    source = tmp_path / "user_module.py"
    source.write_text("def f(x):\n    return x + 1\n")
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_module", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    jitted = njit(cache=True)(module.f)
    assert jitted(1) == 2
    assert not type(jitted._cache._impl._locator).__name__.startswith("Package")


def test_method_kernels_live_in_the_kernel_folder_keyed_by_the_package_stamp(tmp_path, monkeypatch):
    from synthclip import methods

    monkeypatch.setenv("SYNTHCLIP_KERNEL_DIR", str(tmp_path))
    monkeypatch.setattr(_engine, "_MODULES", {})  # as in a new process: nothing imported yet
    assert _cache.kernel_dir() == tmp_path
    gclip = methods.get("gclip")
    module = _engine.kernel_module(gclip)
    assert module.__file__ == str(_engine.kernel_path(gclip)) and module.__file__.startswith(str(tmp_path))
    locator = module.simulate_kernel._cache._impl._locator
    assert not type(locator).__name__.startswith("Package")  # numba's own locator: the file never changes
    assert _engine.kernel_module(gclip) is module  # one module per process
    # the key is a function of the package's sources: another stamp, another module file
    before = _engine.kernel_path(gclip)
    monkeypatch.setattr(_engine, "_PACKAGE_STAMP", "0" * 64)
    assert _engine.kernel_path(gclip) != before
