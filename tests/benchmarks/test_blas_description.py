"""The benchmark says which BLAS kernel numpy runs and warns when OPENBLAS_CORETYPE pins an
AVX2 kernel on a CPU with AVX-512 (the conv rows then read ~1.5x worse than they are)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.training import measure


def _has_avx512() -> bool:
    try:
        return " avx512f " in Path("/proc/cpuinfo").read_text(errors="replace")[: 1 << 16]
    except OSError:
        return False


def test_no_warning_without_a_pinned_kernel(monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    assert measure.pinned_kernel_warning("Haswell") == ""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert measure.pinned_kernel_warning("SkylakeX") == ""


def test_a_pinned_avx2_kernel_on_an_avx512_cpu_is_named(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    warning = measure.pinned_kernel_warning("Haswell")
    if not _has_avx512():
        assert warning == ""
        pytest.skip("this CPU has no AVX-512: an AVX2 kernel is the right one")
    assert "OPENBLAS_CORETYPE=Haswell" in warning and "make bench" in warning


def test_the_description_names_the_kernel_and_threads():
    pytest.importorskip("threadpoolctl")
    first = measure.blas_description().splitlines()[0]
    assert first.startswith("numpy BLAS: ") and "kernel " in first and "threads" in first
