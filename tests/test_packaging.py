"""The wheel users install ships the widget module, the prebuilt lab extension and the server switch."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import attn_widget

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contents(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)], check=True
    )
    (wheel,) = tmp_path.glob("attn_widget-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    assert "attn_widget/static/widget.js" in names and "attn_widget/static/widget.css" in names
    assert f"{data}/data/share/jupyter/labextensions/attn-widget/package.json" in names
    assert any(n.startswith(f"{data}/data/share/jupyter/labextensions/attn-widget/static/remoteEntry.") for n in names)
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/attn_widget.json" in names
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/attn_widget_nbexport.json" in names  # Lab's HTML export
    assert f"{data}/data/etc/jupyter/jupyter_nbconvert_config.json" in names  # jupyter nbconvert --to html
    assert "attn_widget/examples/attention_demo.ipynb" in names  # the demo works outside a checkout
    assert "attn_widget/wire_schema.json" in names  # the browser format, read at import
    assert wheel.name.startswith(f"attn_widget-{attn_widget.__version__}-")  # one version, from attn_widget/__init__.py
    widget_js = zipfile.ZipFile(wheel).read("attn_widget/static/widget.js").decode()
    for forbidden in ("cdn.jsdelivr", "cdnjs", "unpkg.com", "require.js"):
        assert forbidden not in widget_js


def test_extensions_enabled_in_this_environment():
    bin_dir = Path(sys.executable).parent
    lab = subprocess.run([bin_dir / "jupyter", "labextension", "list"], capture_output=True, text=True, check=True)
    assert "attn-widget v0.1.0 enabled" in (lab.stdout + lab.stderr).replace("\x1b[32m", "").replace("\x1b[0m", "")
    server = subprocess.run(
        [bin_dir / "jupyter", "server", "extension", "list"], capture_output=True, text=True, check=True
    )
    out = server.stdout + server.stderr
    assert "attn_widget" in out and "attn_widget enabled" in out.replace("\x1b[32m", "").replace("\x1b[0m", "")
