"""Several named roots, one on a real S3 API (moto's server on 127.0.0.1), in the runs sidebar of a
real JupyterLab + Chromium: runs grouped by root, a vanished bucket's warning on its root only,
credentials nowhere in the page."""

import json
import os

import pytest
from lab import LabServer
from moto.server import ThreadedMotoServer
from test_sidebar import configure, open_sidebar, runs, write_run

ACCESS_KEY = "AKIAE2EROOTSKEY00042"
SECRET_KEY = "e2e-roots-secret-must-not-reach-the-browser"
BUCKET = "e2e-runs"


@pytest.fixture(scope="module")
def roots_lab(tmp_path_factory):
    """A Lab server with roots {"local": <root>/tb, "cluster": s3://e2e-runs/logs, "gone": a
    vanished bucket}, S3 credentials in its environment."""
    import s3fs

    with pytest.MonkeyPatch.context() as mp:
        for name, value in [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                            ("AWS_DEFAULT_REGION", "us-east-1")]:  # fmt: skip
            mp.setenv(name, value)
        s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        s3.start()
        host, port = s3.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        staging = tmp_path_factory.mktemp("staging")
        write_run(staging / "exp1", steps=20)
        write_run(staging / "exp2" / "seed1", steps=10)
        fs = s3fs.S3FileSystem(endpoint_url=endpoint)
        fs.mkdir(BUCKET)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            fs.put_file(str(path), f"{BUCKET}/logs/{path.relative_to(staging).as_posix()}")

        base = tmp_path_factory.mktemp("roots-lab")
        (base / "config").mkdir()
        runs_config = {
            "roots": {
                "local": str(base / "root" / "tb"),
                "cluster": f"s3://{BUCKET}/logs",
                "gone": "s3://gone-bucket/x",
            },
            "storage_options": {"s3": {"endpoint_url": endpoint}},
            "remote_timeout": 5.0,
        }
        (base / "config" / "jupyter_server_config.json").write_text(json.dumps({"TensorBoardRuns": runs_config}))
        server = LabServer(base)
        try:
            write_run(server.root / "tb" / "alpha", steps=5)
            server.wait_ready()
            assert os.environ["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
            yield server
        finally:
            server.stop()
            s3.stop()


def test_roots_are_groups_and_a_failing_root_warns_alone(roots_lab, page):
    configure(roots_lab, logdir="")
    open_sidebar(page, roots_lab)
    rows = runs(page)
    rows.nth(2).wait_for()
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == [
        "local/alpha",
        "cluster/exp1",
        "cluster/exp2/seed1",
    ]
    assert rows.locator(".jp-AttnRuns-group").all_inner_texts() == ["local", "cluster", "cluster"]
    assert rows.locator(".jp-AttnRuns-name").all_inner_texts() == ["alpha", "exp1", "exp2/seed1"]
    assert "step 19" in rows.filter(has_text="exp1").locator(".jp-AttnRuns-meta").inner_text()
    message = page.locator("#attn-widget-runs .jp-AttnRuns-message")
    assert "⚠ gone: cannot list s3://gone-bucket/x" in message.inner_text()
    assert "cluster" not in message.inner_text() and "local" not in message.inner_text()

    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("^cluster/")  # the filter sees the root
    assert rows.locator(".jp-AttnRuns-name").all_inner_texts() == ["exp1", "exp2/seed1"]
    spark = rows.filter(has_text="exp1").locator(".jp-AttnRuns-sparkline polyline")
    spark.wait_for()  # its scalars came from S3 through the server
    assert len(spark.get_attribute("points").split()) == 20

    html = page.content()
    assert SECRET_KEY not in html and ACCESS_KEY not in html
    log = roots_lab.log()
    assert "/attn-widget/runs" in log or "attn_widget" in log
    assert SECRET_KEY not in log and ACCESS_KEY not in log
