"""REST handlers of the runs sidebar, against a real Jupyter server (pytest-jupyter) and real
event files written by torch's SummaryWriter."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from jupyter_core.utils import ensure_event_loop
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

pytest_plugins = ("pytest_jupyter.jupyter_server",)

SETTINGS_KEY = "attn_widget_runs"


def on_server_loop(test):
    """Run an async test on pytest-jupyter's loop, where the server lives. (With the project's
    ``asyncio_mode = "auto"``, pytest-asyncio would run it on a loop of its own and every request
    to the server would time out.)"""

    @functools.wraps(test)
    def run(*args, **kwargs):
        ensure_event_loop(prefer_selector_loop=True).run_until_complete(test(*args, **kwargs))

    return run


@pytest.fixture
def jp_server_config():
    # listing_max_age 0: these tests change files and list again at once (the cache has its own test)
    return {"ServerApp": {"jpserver_extensions": {"attn_widget": True}}, "TensorBoardRuns": {"listing_max_age": 0}}


def write_run(path: Path, steps: int, tags=("loss", "acc"), start: int = 0, offset: float = 0.0) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(path)) as writer:
        for step in range(start, start + steps):
            for k, tag in enumerate(tags):
                writer.add_scalar(tag, step * 0.5 + k + offset, step)


@pytest.fixture
def logs(jp_root_dir: Path) -> Path:
    """root/logs/{a, b/c} runs inside the root; an 'outside' run beside the root, reachable only
    through a symlink root/logs/escape."""
    logs = jp_root_dir / "logs"
    write_run(logs / "a", 30)
    write_run(logs / "b" / "c", 5, tags=("loss",))
    outside = jp_root_dir.parent / "outside"
    write_run(outside / "secret", 10, tags=("secret_tag",))
    os.symlink(outside, logs / "escape")
    return logs


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch("attn-widget", *parts, params=params)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def post_json(jp_fetch, **body):
    response = await jp_fetch("attn-widget", "scalars", method="POST", body=json.dumps(body))
    assert response.code == 200
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, **params) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("attn-widget", *parts, params=params)
    return info.value.code, json.loads(info.value.response.body)["message"]


@pytest.fixture
def fetcher(http_server_client, jp_base_url, jp_auth_header):
    """(client, base url, auth header): for requests whose path must not be re-escaped."""
    return http_server_client, jp_base_url, jp_auth_header


async def raw_get(fetcher, path: str) -> tuple[int, str]:
    """GET ``{base_url}attn-widget/<path>`` with the path sent exactly as given; (code, message)."""
    client, base_url, auth = fetcher
    response = await client.fetch(f"{base_url}attn-widget/{path}", headers=auth, raise_error=False)
    return response.code, json.loads(response.body)["message"]


def cached_paths(jp_serverapp) -> list[str]:
    return list(jp_serverapp.web_app.settings[SETTINGS_KEY].cache._readers)


@on_server_loop
async def test_runs_list_contract(jp_fetch, logs):
    body = await get_json(jp_fetch, "runs")
    assert body["root"] == ""
    runs = {r["name"]: r for r in body["runs"]}
    assert set(runs) == {"logs/a", "logs/b/c"}  # the symlink leading outside the root is not followed
    a = runs["logs/a"]
    assert a["last_step"] == 29
    assert a["tags"] == ["acc", "loss"]
    assert a["live"] is True and a["warnings"] == []
    assert a["size"] == sum(f.stat().st_size for f in (logs / "a").iterdir())
    assert abs(a["updated"] - time.time()) < 120
    assert runs["logs/b/c"]["tags"] == ["loss"] and runs["logs/b/c"]["last_step"] == 4

    sub = await get_json(jp_fetch, "runs", logdir="logs/b")
    assert sub["root"] == "logs/b"
    assert [r["name"] for r in sub["runs"]] == ["logs/b/c"]


@on_server_loop
async def test_scalars_full_and_downsampled(jp_fetch, logs):
    body = await get_json(jp_fetch, "runs", "logs/a", "scalars")
    assert body["run"] == "logs/a" and body["warnings"] == []
    assert set(body["tags"]) == {"loss", "acc"}
    loss = body["tags"]["loss"]
    assert loss["steps"] == list(range(30))
    assert loss["values"] == [s * 0.5 for s in range(30)]
    assert len(loss["wall_times"]) == 30 and all(w > 1e9 for w in loss["wall_times"])

    small = await get_json(jp_fetch, "runs", "logs/a", "scalars", tag="acc", max_points="6")
    assert list(small["tags"]) == ["acc"]
    acc = small["tags"]["acc"]
    assert len(acc["steps"]) <= 6
    assert acc["steps"][0] == 0 and acc["steps"][-1] == 29  # ends and extremes kept
    assert min(acc["values"]) == 1.0 and max(acc["values"]) == 29 * 0.5 + 1

    missing_tag = await post_json(jp_fetch, run="logs/a", tags=["nope", "loss"])
    assert list(missing_tag["tags"]) == ["loss"]
    assert missing_tag["warnings"] == ["tag not found: nope"]


@on_server_loop
async def test_event_files_in_the_root_are_run_dot(jp_fetch, jp_root_dir):
    write_run(jp_root_dir, 3, tags=("loss",))
    listed = await get_json(jp_fetch, "runs")
    assert [r["name"] for r in listed["runs"]] == ["."]
    via_dot = await get_json(jp_fetch, "runs", ".", "scalars")
    normalised = await get_json(jp_fetch, "runs", "scalars")  # what a browser sends for runs/./scalars
    assert via_dot == normalised
    assert normalised["run"] == "." and normalised["tags"]["loss"]["steps"] == [0, 1, 2]


@on_server_loop
async def test_bad_max_points_is_400(jp_fetch, logs):
    assert (await error_of(jp_fetch, "runs", "logs/a", "scalars", max_points="x"))[0] == 400
    code, message = await error_of(jp_fetch, "runs", "logs/a", "scalars", max_points="2")
    assert code == 400 and "at least 4" in message


@on_server_loop
async def test_requests_without_token_are_refused(jp_serverapp, http_server_client, jp_base_url, logs):
    for path in ("runs", "runs/logs/a/scalars", "version"):
        response = await http_server_client.fetch(
            url_path_join(jp_base_url, "attn-widget", path), raise_error=False
        )
        assert response.code in (401, 403), path
    assert cached_paths(jp_serverapp) == []  # refused before any file was read


@on_server_loop
async def test_traversal_with_dotdot_is_400(jp_fetch, jp_serverapp, fetcher, logs):
    code, message = await error_of(jp_fetch, "runs", logdir="../outside")
    assert code == 400 and "'..'" in message
    code, _ = await error_of(jp_fetch, "runs", logdir="logs/../../outside")
    assert code == 400
    code, _ = await error_of(jp_fetch, "runs", "../outside/secret", "scalars")
    assert code == 400
    code, message = await raw_get(fetcher, "runs/..%2Foutside%2Fsecret/scalars")  # as encodeURIComponent sends it
    assert code == 400 and "'..'" in message
    assert cached_paths(jp_serverapp) == []


@on_server_loop
async def test_absolute_paths_are_400(jp_fetch, jp_serverapp, fetcher, logs):
    outside = str(logs.parent.parent / "outside")
    code, message = await error_of(jp_fetch, "runs", logdir=outside)
    assert code == 400 and "absolute" in message
    code, message = await raw_get(fetcher, f"runs/{outside}/secret/scalars")  # .../runs//tmp/...
    assert code == 400 and "absolute" in message
    code, message = await raw_get(fetcher, "runs/" + (outside + "/secret").replace("/", "%2F") + "/scalars")
    assert code == 400 and "absolute" in message
    assert cached_paths(jp_serverapp) == []


@on_server_loop
async def test_symlink_outside_root_is_404(jp_fetch, jp_serverapp, logs):
    code, message = await error_of(jp_fetch, "runs", logdir="logs/escape")
    assert code == 404 and "outside" in message
    code, _ = await error_of(jp_fetch, "runs", "logs/escape/secret", "scalars")
    assert code == 404
    # a symlinked event file inside a run, pointing outside, is ignored too
    secret_file = next((logs.parent.parent / "outside" / "secret").iterdir())
    os.symlink(secret_file, logs / "a" / f"{secret_file.name}.link")
    body = await get_json(jp_fetch, "runs", "logs/a", "scalars")
    assert "secret_tag" not in body["tags"]
    outside = str((logs.parent.parent / "outside").resolve())
    assert not any(p.startswith(outside) for p in cached_paths(jp_serverapp))


@on_server_loop
async def test_missing_logdir_and_run_are_404(jp_fetch, logs):
    code, message = await error_of(jp_fetch, "runs", logdir="logs/nope")
    assert code == 404 and "logs/nope" in message
    code, _ = await error_of(jp_fetch, "runs", "logs/nope", "scalars")
    assert code == 404
    code, message = await error_of(jp_fetch, "runs", "logs/b", "scalars")  # folder without event files
    assert code == 404 and "no TensorBoard event files" in message


@on_server_loop
async def test_refresh_reads_only_appended_bytes(jp_fetch, jp_serverapp, jp_root_dir):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(jp_root_dir / "live"))
    for step in range(20):
        writer.add_scalar("loss", float(step), step)
    writer.flush()
    first = await get_json(jp_fetch, "runs")
    assert first["runs"][0]["last_step"] == 19
    event_file = next((jp_root_dir / "live").iterdir())
    size_before = event_file.stat().st_size
    for step in range(20, 50):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    second = await get_json(jp_fetch, "runs")
    assert second["runs"][0]["last_step"] == 49
    reader = jp_serverapp.web_app.settings[SETTINGS_KEY].cache._readers[str(event_file.resolve())]
    assert reader.bytes_read == event_file.stat().st_size - size_before
    body = await get_json(jp_fetch, "runs", "live", "scalars")
    assert body["tags"]["loss"]["steps"] == list(range(50))


@on_server_loop
async def test_resumed_run_is_purged_and_sorted(jp_fetch, jp_root_dir):
    run = jp_root_dir / "resumed"
    run.mkdir()
    for stamp, start, steps, offset in ((1, 0, 1001, 0.0), (2, 500, 1001, 10_000.0)):  # restarted at 500
        write_run(jp_root_dir / "session", steps, tags=("loss",), start=start, offset=offset)
        next((jp_root_dir / "session").iterdir()).rename(run / f"events.out.tfevents.{stamp}.host.1.0")
    full = (await get_json(jp_fetch, "runs", "resumed", "scalars", max_points="5000"))["tags"]["loss"]
    assert full["steps"] == list(range(1501))
    assert full["values"] == [s * 0.5 + (s >= 500) * 10_000.0 for s in range(1501)]
    small = (await get_json(jp_fetch, "runs", "resumed", "scalars", max_points="100"))["tags"]["loss"]
    assert 50 < len(small["steps"]) <= 100 and small["steps"][-1] == 1500
    assert all(a < b for a, b in zip(small["steps"], small["steps"][1:]))


@on_server_loop
async def test_file_rotated_away_during_the_listing_is_a_warning(jp_fetch, jp_serverapp, jp_root_dir, rotating_cache):
    write_run(jp_root_dir / "run", 5, tags=("loss",))
    kept = next((jp_root_dir / "run").iterdir())
    rotated = kept.with_name(kept.name + "9")  # a later file, by name
    write_run(jp_root_dir / "session", 5, tags=("loss",), start=5)
    next((jp_root_dir / "session").iterdir()).rename(rotated)
    jp_serverapp.web_app.settings[SETTINGS_KEY].cache = rotating_cache([rotated])
    (run,) = (await get_json(jp_fetch, "runs"))["runs"]  # a 404 before the fix
    assert run["name"] == "run" and run["last_step"] == 4
    assert run["warnings"] == [f"{rotated.name}: cannot read (No such file or directory)"]


@on_server_loop
async def test_big_read_does_not_block_other_requests(jp_fetch, jp_root_dir):
    # ~1.2M real torch records: the records of one SummaryWriter file, repeated
    write_run(jp_root_dir / "seed", 2000, tags=("loss",))
    seed = next((jp_root_dir / "seed").iterdir()).read_bytes()
    big = jp_root_dir / "big"
    big.mkdir()
    with open(big / "events.out.tfevents.1.big", "wb") as f:
        for _ in range(600):
            f.write(seed)

    t0 = time.perf_counter()
    task = asyncio.ensure_future(jp_fetch("attn-widget", "runs", "big", "scalars"))
    latencies = []
    await asyncio.sleep(0.05)
    while not task.done():
        t = time.perf_counter()
        await jp_fetch("attn-widget", "version")
        latencies.append(time.perf_counter() - t)
    response = await task
    total = time.perf_counter() - t0
    assert 900 < len(json.loads(response.body)["tags"]["loss"]["steps"]) <= 1000
    assert total > 0.4, "precondition: the big read must take a while"
    assert len(latencies) >= 2, "version requests were answered while the big read ran"
    assert max(latencies) < total / 3


@on_server_loop
async def test_malformed_paths_are_400(jp_fetch, fetcher, logs):
    code, _ = await error_of(jp_fetch, "runs", logdir="logs\x00a")  # tornado reads the query's NUL as a space
    assert code == 404
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("attn-widget", "scalars", method="POST", body=json.dumps({"run": "logs/a\x00"}))
    assert info.value.code == 400 and "null byte" in json.loads(info.value.response.body)["message"]
    code, message = await raw_get(fetcher, "runs/logs%2Fa%00/scalars")
    assert code == 400 and "null byte" in message
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("attn-widget", "scalars", method="POST", body=json.dumps({"run": "logs/a", "tags": "loss"}))
    assert info.value.code == 400 and "list of strings" in json.loads(info.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("attn-widget", "scalars", method="POST", body="{not json")
    assert info.value.code == 400


@on_server_loop
async def test_post_without_token_is_refused(http_server_client, jp_base_url, jp_serverapp, logs):
    response = await http_server_client.fetch(url_path_join(jp_base_url, "attn-widget", "scalars"), method="POST",
                                              body=json.dumps({"run": "logs/a"}), raise_error=False)
    assert response.code in (401, 403)
    assert cached_paths(jp_serverapp) == []


@on_server_loop
async def test_any_tag_names_any_count_and_non_finite_values(jp_fetch, jp_root_dir):
    from torch.utils.tensorboard import SummaryWriter

    tags = [f"metric,{i}/x y" for i in range(3000)]  # commas, slashes, spaces; a URL could not hold them
    with SummaryWriter(str(jp_root_dir / "odd")) as w:
        for tag in tags:
            w.add_scalar(tag, 1.0, 0)
        for step, value in enumerate([1.0, float("nan"), float("inf"), float("-inf"), 2.0]):
            w.add_scalar("odd,values", value, step)
    body = await post_json(jp_fetch, run="odd", tags=[*tags, "odd,values"])
    assert body["warnings"] == [] and len(body["tags"]) == 3001
    assert body["tags"]["metric,2999/x y"]["values"] == [1.0]
    assert body["tags"]["odd,values"]["values"] == [1.0, "NaN", "Infinity", "-Infinity", 2.0]
    via_get = await get_json(jp_fetch, "runs", "odd", "scalars", tag="odd,values")
    assert via_get["tags"] == {"odd,values": body["tags"]["odd,values"]}


@on_server_loop
async def test_max_points_is_capped_and_answers_are_cached_until_the_run_changes(jp_fetch, jp_serverapp, jp_root_dir):
    from torch.utils.tensorboard import SummaryWriter

    state = jp_serverapp.web_app.settings[SETTINGS_KEY]
    writer = SummaryWriter(str(jp_root_dir / "long"), max_queue=20_000)
    for step in range(12_000):
        writer.add_scalar("loss", float(step % 97), step)
    writer.flush()
    capped = await post_json(jp_fetch, run="long", tags=["loss"], max_points=10**9)
    assert len(capped["tags"]["loss"]["steps"]) <= 10_000
    again = await post_json(jp_fetch, run="long", tags=["loss"], max_points=10**9)
    assert again == capped
    key = (str(jp_root_dir / "long"), "loss", 10_000)
    (signature, text), = [v for k, v in state.answers._items.items() if k == key]
    writer.add_scalar("loss", 500.0, 12_000)
    writer.close()
    grown = await post_json(jp_fetch, run="long", tags=["loss"], max_points=10**9)
    assert grown["tags"]["loss"]["steps"][-1] == 12_000 and max(grown["tags"]["loss"]["values"]) == 500.0
    assert state.answers._items[key][0] != signature


@on_server_loop
async def test_a_broken_file_is_a_warning_on_its_run_never_a_500(jp_fetch, jp_root_dir):
    write_run(jp_root_dir / "good", 5, tags=("loss",))
    (jp_root_dir / "crashed").mkdir()
    (jp_root_dir / "crashed" / "events.out.tfevents.1.host").write_bytes(bytes(64))  # zero-filled
    runs = {r["name"]: r for r in (await get_json(jp_fetch, "runs"))["runs"]}
    assert runs["good"]["tags"] == ["loss"] and runs["good"]["warnings"] == []
    assert runs["crashed"]["tags"] == [] and runs["crashed"]["warnings"]
    assert "bad length checksum" in runs["crashed"]["warnings"][0]
    body = await get_json(jp_fetch, "runs", "crashed", "scalars")
    assert body["tags"] == {} and body["warnings"]


@on_server_loop
async def test_symlinked_run_folders_and_files_inside_the_root(jp_fetch, jp_root_dir):
    write_run(jp_root_dir / "real" / "run", 4, tags=("loss",))
    os.symlink(jp_root_dir / "real", jp_root_dir / "alias")  # a symlinked folder of runs
    os.symlink(jp_root_dir, jp_root_dir / "real" / "loop")  # a loop back to the root
    (jp_root_dir / "linked").mkdir()
    source = next((jp_root_dir / "real" / "run").iterdir())
    os.symlink(source, jp_root_dir / "linked" / source.name)  # a symlinked event file
    runs = {r["name"]: r for r in (await get_json(jp_fetch, "runs"))["runs"]}
    assert set(runs) == {"real/run", "alias/run", "linked"}
    for name in runs:
        body = await get_json(jp_fetch, "runs", name, "scalars")
        assert body["run"] == name and body["tags"]["loss"]["steps"] == [0, 1, 2, 3]


@on_server_loop
async def test_hparams_and_add_scalars_groups_are_listed(jp_fetch, jp_root_dir):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(jp_root_dir / "exp")) as w:
        w.add_scalar("train/loss", 0.5, 0)
        w.add_scalars("loss", {"train": 0.5, "val": 0.7}, 0)
        w.add_hparams({"lr": 0.01, "optimizer": "sgd", "nesterov": True}, {"hparam/acc": 0.9}, run_name="hp")
    runs = {r["name"]: r for r in (await get_json(jp_fetch, "runs"))["runs"]}
    assert runs["exp/loss_val"]["scalars_group"] == {"parent": "exp", "tag": "loss", "key": "val"}
    assert runs["exp/hp"]["hparams"] == {"lr": 0.01, "optimizer": "sgd", "nesterov": True}
    assert runs["exp/hp"]["metrics"] == {"hparam/acc": pytest.approx(0.9)}  # stored as float32
    assert runs["exp"]["hparams"] == {} and runs["exp"]["scalars_group"] is None


def test_server_start_imports_no_tensorboard(tmp_path):
    code = """
import sys
from jupyter_server.serverapp import ServerApp
app = ServerApp()
app.initialize(argv=["--ServerApp.jpserver_extensions={'attn_widget': True}", "--port=0",
                     "--ServerApp.root_dir=%s", "--ServerApp.open_browser=False"])
assert "attn_widget_runs" in app.web_app.settings, "extension not loaded"
print(sorted(m for m in sys.modules if m.split(".")[0] == "tensorboard"))
""" % tmp_path
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="class")
def pools():
    """Reading pools (and their threads) of a class's servers, checked after pytest-jupyter has torn
    the servers down: a class fixture's teardown runs after the function fixtures'."""
    pools = []
    yield pools
    assert pools
    for executor, threads in pools:
        with pytest.raises(RuntimeError, match="after shutdown"):
            executor.submit(int)
        for thread in threads:
            thread.join(timeout=10)
        assert not any(t.is_alive() for t in threads)


class TestShutdown:
    @on_server_loop
    async def test_reading_pool_is_shut_down_with_the_server(self, pools, jp_fetch, jp_serverapp, logs):
        await get_json(jp_fetch, "runs")
        executor = jp_serverapp.web_app.settings[SETTINGS_KEY].executor
        assert executor.submit(int).result() == 0  # usable while the server runs
        threads = [t for t in threading.enumerate() if t.name.startswith("attn-widget-runs")]
        assert threads
        pools.append((executor, threads))


class TestListingCache:
    @pytest.fixture
    def jp_server_config(self):
        return {"ServerApp": {"jpserver_extensions": {"attn_widget": True}}}

    @on_server_loop
    async def test_a_listing_is_reused_for_a_second_unless_fresh_is_asked(self, jp_fetch, jp_root_dir):
        write_run(jp_root_dir / "a", 3)
        first = await get_json(jp_fetch, "runs")
        write_run(jp_root_dir / "b", 3)
        assert await get_json(jp_fetch, "runs") == first  # within listing_max_age: the same answer
        fresh = await get_json(jp_fetch, "runs", fresh="1")
        assert [r["name"] for r in fresh["runs"]] == ["a", "b"]
        await asyncio.sleep(1.1)
        write_run(jp_root_dir / "c", 3)
        assert [r["name"] for r in (await get_json(jp_fetch, "runs"))["runs"]] == ["a", "b", "c"]


class TestConfiguredRoot:
    @pytest.fixture
    def jp_server_config(self, jp_root_dir):
        return {
            "ServerApp": {"jpserver_extensions": {"attn_widget": True}},
            "TensorBoardRuns": {"root_dir": str(jp_root_dir / "logs")},
        }

    @on_server_loop
    async def test_names_are_relative_to_the_configured_root(self, jp_fetch, logs):
        body = await get_json(jp_fetch, "runs")
        assert body["root"] == ""
        assert [r["name"] for r in body["runs"]] == ["a", "b/c"]
        assert (await get_json(jp_fetch, "runs", "b/c", "scalars"))["run"] == "b/c"
        assert (await error_of(jp_fetch, "runs", logdir=".."))[0] == 400
