"""How the pages' cells run: one thread per kernel, encrypted kernel traffic, and a jupyter-cache
that notices when ``book/stability.py`` (the helpers every page imports) or the figures' font
changes, and a cell that writes to stderr fails the build (``nb_output_stderr``, in ``conf.py``)."""

import hashlib
import os
import shutil
from pathlib import Path

from docutils import nodes

from .font import font_digest

# The cells work on small tensors: one thread per process is nearly as fast as many on an idle
# machine and far faster on a busy one (no oversubscription).  The kernel inherits this
# environment; a value set by the user wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

HELPERS = "stability.py"  # beside the pages, in the source directory


def _encrypt_kernel_traffic():
    """The kernel that executes the pages talks to Sphinx over TCP on localhost.  Its kernelspec
    declares CurveZMQ support, so let jupyter_client provision Curve keys ("auto"): the traffic is
    encrypted and ipykernel >= 7 does not print its "running over TCP without encryption" warning
    into the build log."""
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:  # pragma: no cover
        return
    if zmq.has("curve") and hasattr(KernelManager, "transport_encryption"):
        KernelManager.transport_encryption.default_value = "auto"


def _invalidate_cache_when_helpers_change(app, config):
    """jupyter-cache keys a notebook on its own cells only, so a change to the helpers module, or
    to the font the figures are drawn with, would not re-execute anything (a cache filled on a
    machine without the font kept its empty boxes after the font came).  Keep the hash of both
    beside the cache and drop the cache when it moves.  The figures use no system font (the font
    comes with the venv, DejaVu Sans with matplotlib), so nothing else of the machine's goes in."""
    helpers = Path(app.srcdir) / HELPERS
    cache = Path(config.nb_execution_cache_path)
    stamp = cache.parent / f".{cache.name}.stability.sha256"  # one per edition's cache
    digest = hashlib.sha256(helpers.read_bytes()).hexdigest() if helpers.exists() else ""
    digest += f" font:{font_digest(app.srcdir)}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    if cache.exists():
        shutil.rmtree(cache)
    app.env_stale_helpers = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def _outdated_when_helpers_change(app, env, added, changed, removed):
    """Re-read the notebook pages (not just re-render) after the cache was dropped."""
    if not getattr(app, "env_stale_helpers", False):
        return []
    return [d for d in env.found_docs if "kernelspec" in env.metadata.get(d, {})]


def _note_stderr(app, doctree):
    """Remember the pages whose cells wrote to stderr.  myst-nb warns while it reads a page, and
    Sphinx would not read an unchanged page again: without this a second ``make book`` would pass
    over the same red block."""
    stderr = getattr(app.env, "numstab_stderr_docs", set())
    stderr.discard(app.env.docname)
    if any("stderr" in node.get("classes", ()) for node in doctree.findall(nodes.literal_block)):
        stderr.add(app.env.docname)
    app.env.numstab_stderr_docs = stderr


def _forget(app, env, docname):
    getattr(env, "numstab_stderr_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.numstab_stderr_docs = (getattr(env, "numstab_stderr_docs", set())
                               | (getattr(other, "numstab_stderr_docs", set()) & set(docnames)))


def _reread_pages_with_stderr(app, env, added, changed, removed):
    return sorted(getattr(env, "numstab_stderr_docs", set()) & env.found_docs)


def setup(app):
    _encrypt_kernel_traffic()
    app.connect("config-inited", _invalidate_cache_when_helpers_change)
    app.connect("env-get-outdated", _outdated_when_helpers_change)
    app.connect("doctree-read", _note_stderr)
    app.connect("env-purge-doc", _forget)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _reread_pages_with_stderr)
