"""Drive a notebook in the real JupyterLab page: write it with the contents API, run cells, read outputs."""

from __future__ import annotations

import nbformat
from lab import LabServer, open_lab

TESTS_DIR = __import__("pathlib").Path(__file__).resolve().parents[1]


def write_notebook(lab: LabServer, name: str, cells: list[str]) -> None:
    """Save a notebook of code ``cells`` at ``name`` under the server root."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    lab.api("PUT", f"api/contents/{name}", json={"type": "notebook", "format": "json", "content": nb})


def open_notebook(page, lab: LabServer, name: str) -> None:
    """Open ``name`` and wait until its kernel is idle."""
    open_lab(page, lab, name)
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          return w && w.sessionContext && w.sessionContext.session?.kernel?.status === 'idle';
        }""",
        timeout=90_000,
    )


def run_cell(page, index: int, timeout: float = 90_000) -> str:
    """Run cell ``index`` of the current notebook; wait for it to finish and return its output text."""
    page.evaluate(
        """async (index) => {
          const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = index;
          await window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )
    page.wait_for_function(
        """(index) => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
          const count = cell.model.executionCount;
          return count !== null && count !== undefined && !cell.node.querySelector('.jp-InputArea-prompt')?.textContent.includes('*');
        }""",
        arg=index,
        timeout=timeout,
    )
    output = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")
    return output.inner_text() if output.count() else ""


def save_notebook(page) -> None:
    """Save the current notebook (File › Save) and wait until it is written."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
