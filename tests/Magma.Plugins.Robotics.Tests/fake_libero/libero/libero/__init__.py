"""Fake of libero.libero: paths of the benchmark files."""
import os

_ROOT = os.path.dirname(os.path.abspath(__file__))


def get_libero_path(query_key):
    paths = {
        "benchmark_root": _ROOT,
        "bddl_files": os.path.join(_ROOT, "bddl_files"),
        "init_states": os.path.join(_ROOT, "init_files"),
        "datasets": os.path.join(_ROOT, "datasets"),
        "assets": os.path.join(_ROOT, "assets"),
    }
    if query_key not in paths:
        raise KeyError(f"unknown libero path key {query_key!r}; expected one of {sorted(paths)}")
    return paths[query_key]
